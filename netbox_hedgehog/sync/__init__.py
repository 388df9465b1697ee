"""How a fabric syncs: source listings → diff against NetBox → apply, for one run."""
