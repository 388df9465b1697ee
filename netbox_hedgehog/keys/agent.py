"""Key fields of the agent.githedgehog.com kinds."""

from .common import asn, integer, mapping, text, texts, timestamp


def agent(spec, status, name):
    """An agent is generated per switch (same name); ``spec.switch`` is that switch's spec.

    role (of the agent, else of its switch), the switch's profile and ASN, devices = the switch
    (the object's name; a plain-string ``spec.switch`` of older agents also counts), and from the
    status the last heartbeat and the last applied generation.
    """
    switch = spec.get('switch')
    switch_spec = mapping(switch)
    devices = [name] if isinstance(name, str) and name else []
    if isinstance(switch, str):
        devices.append(switch)
    return {
        'role': text(spec.get('role'), 'role') or text(switch_spec.get('role'), 'role'),
        'profile': text(switch_spec.get('profile'), 'profile'),
        'asn': asn(switch_spec.get('asn')),
        'devices': texts(devices, 'devices'),
        'heartbeat': timestamp(status.get('lastHeartbeat')),
        'applied_generation': integer(status.get('lastAppliedGen')),
    }


EXTRACTORS = {
    'Agent': agent,
}
