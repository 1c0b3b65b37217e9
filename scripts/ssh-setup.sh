#!/usr/bin/env bash
# For CI: lets `docker` and the docker provider reach DOCKER_HOST=ssh://user@host with the deploy
# key, trusting only the host key pinned in SSH_KNOWN_HOSTS (never one learnt on first contact).
#   SSH_PRIVATE_KEY   the deploy key (a GitHub environment secret)
#   SSH_KNOWN_HOSTS   the host's line(s) from `ssh-keyscan -t ed25519 <host>`, checked by hand once
# Writes ~/.ssh/wayshub_deploy, ~/.ssh/known_hosts and a config that uses only them.
set -euo pipefail
: "${SSH_PRIVATE_KEY:?ssh-setup: SSH_PRIVATE_KEY is not set (a secret of the GitHub environment)}"
: "${SSH_KNOWN_HOSTS:?ssh-setup: SSH_KNOWN_HOSTS is not set (the pinned host key; see docs/review.md)}"
if ! grep -qE '^[^ #]+ (ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+' <<<"$SSH_KNOWN_HOSTS"; then
  echo "ssh-setup: SSH_KNOWN_HOSTS holds no known_hosts line; allowed: lines like 'host ssh-ed25519 AAAA...'" >&2
  exit 2
fi
dir="$HOME/.ssh"
mkdir -p "$dir" && chmod 700 "$dir"
umask 077
printf '%s\n' "$SSH_PRIVATE_KEY" > "$dir/wayshub_deploy"
printf '%s\n' "$SSH_KNOWN_HOSTS" > "$dir/known_hosts"
cat > "$dir/config" <<CONFIG
Host *
  IdentityFile $dir/wayshub_deploy
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking yes
CONFIG
echo "ssh-setup: deploy key and $(grep -c . "$dir/known_hosts") pinned host key line(s) in place" >&2
