from netbox.plugins import get_plugin_config

# The Git source's settings and their defaults (merged into HedgehogConfig.default_settings).
GIT_SETTINGS = {
    # Accept local repositories (file:// URLs and paths on the worker). Off: anyone who may edit a fabric could
    # otherwise read any repository the worker can read. Even when on, nothing inside git_cache_dir is accepted.
    'allow_local_git': False,
    # Seconds one clone, fetch or ls-remote may take before git (and every process it started) is killed.
    'git_timeout': 60,
    # Content limits per sync run: a file above git_max_file_size bytes or with more than git_max_documents
    # YAML documents is skipped, and so are the files after git_max_total_size bytes have been read.
    'git_max_file_size': 4 * 1024 * 1024,
    'git_max_total_size': 64 * 1024 * 1024,
    'git_max_documents': 10000,
    # How ssh checks a Git server's host key: 'accept-new' trusts a host's key on first use and refuses it if it
    # changes later; 'strict' accepts only the keys in git_ssh_known_hosts (known_hosts lines).
    'git_ssh_host_key_policy': 'accept-new',
    'git_ssh_known_hosts': '',
}


def plugin_setting(name):
    """Return one of this plugin's settings (defaults come from ``HedgehogConfig.default_settings``)."""
    return get_plugin_config('netbox_hedgehog', name)
