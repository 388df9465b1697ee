"""Fabrics with secrets, shared by the UI and API tests that check the secrets never leak."""

from netbox_hedgehog.models import HedgehogFabric

TOKEN = 'secret-token-views-0123456789'
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://10.0.0.1:6443'}
users:
- name: u
  user: {token: secret-kubeconfig-token-views}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"""
# A token inside the kubeconfig: it must not appear in any page or response either.
KUBECONFIG_SECRET = 'secret-kubeconfig-token-views'
GIT_TOKEN = 'secret-git-token-views-0123456789'
GIT_SSH_KEY = """\
-----BEGIN OPENSSH PRIVATE KEY-----
secret-git-ssh-key-views-material
-----END OPENSSH PRIVATE KEY-----
"""
# The part of the SSH key that no page or response may contain.
GIT_SSH_KEY_SECRET = 'secret-git-ssh-key-views-material'
# Every secret create_fabrics() stores.
SECRETS = (TOKEN, KUBECONFIG_SECRET, GIT_TOKEN, GIT_SSH_KEY_SECRET)


def create_fabrics():
    return (
        HedgehogFabric.objects.create(name='fabric-1', kubernetes_server='https://10.0.0.1:6443',
                                      kubernetes_token=TOKEN),
        HedgehogFabric.objects.create(name='fabric-2', kubeconfig=KUBECONFIG),
        HedgehogFabric.objects.create(name='fabric-3', git_repository_url='https://example.com/wiring.git',
                                      git_token=GIT_TOKEN, git_ssh_key=GIT_SSH_KEY),
    )
