#!/usr/bin/env bash
# Seeds the test Samba AD (scripts/samba-ad.sh) with the AWS role groups the
# tests use: AWS-111122223333-Dev holds the group staff (so carol and dave get
# it through engineering -> staff), AWS-111122223333-Admin holds alice.
# Safe to run again.
set -euo pipefail
conf="${SAMBA_AD_DIR:-/tmp/broker-samba-ad}/etc/smb.conf"
st() { samba-tool "$@" -s "$conf" >/dev/null 2>&1 || true; }
st group add AWS-111122223333-Dev --groupou="OU=Groups"
st group addmembers AWS-111122223333-Dev staff
st group add AWS-111122223333-Admin --groupou="OU=Groups"
st group addmembers AWS-111122223333-Admin alice
