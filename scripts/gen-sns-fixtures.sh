#!/usr/bin/env bash
# Test-only PKI for SNS signature checks: AWS's signing key cannot be had, so the tests trust a
# CA of their own (the verifier's trust root is injectable) and sign with a certificate it issued
# for sns.us-east-1.amazonaws.com. Nothing here is a secret; nothing here is used outside tests.
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures/sns"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 36500 -subj "/CN=Switchboard Test Root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr -subj "/CN=sns.us-east-1.amazonaws.com" 2>/dev/null
printf 'subjectAltName=DNS:sns.us-east-1.amazonaws.com\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n' > ext.cnf
openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out signer.pem -days 36500 -extfile ext.cnf 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in signer.key -outform DER -out signer.pk8
rm -f signer.csr ext.cnf ca.srl ca.key signer.key
ls
