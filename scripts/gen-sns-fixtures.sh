#!/usr/bin/env bash
# Test-only PKI for SNS signature checks, in the shape AWS uses: a root, an intermediate CA, and a
# signing certificate for sns.us-east-1.amazonaws.com issued by the intermediate. AWS serves only
# the signing certificate at SigningCertURL; its Authority Information Access names where the
# intermediate is (Amazon's crt.*.amazontrust.com), and the intermediate chains to a root in the
# trust store. The tests serve signer.pem at the SNS URL and intermediate.cer (DER) at the AIA URL.
# AWS's signing key cannot be had, so the tests trust this root instead (the verifier's trust
# roots and fetcher are injectable). Nothing here is a secret; nothing here is used outside tests.
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures/sns"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 36500 -subj "/O=Switchboard Test/CN=Switchboard Test Root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout intermediate.key -out intermediate.csr -subj "/O=Switchboard Test/CN=Switchboard Test RSA 2048 M02" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature,keyCertSign,cRLSign\nextendedKeyUsage=serverAuth,clientAuth\n' > ca-ext.cnf
openssl x509 -req -in intermediate.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out intermediate.pem -days 36500 -extfile ca-ext.cnf 2>/dev/null
openssl x509 -in intermediate.pem -outform DER -out intermediate.cer
openssl req -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr -subj "/CN=sns.us-east-1.amazonaws.com" 2>/dev/null
printf 'subjectAltName=DNS:sns.us-east-1.amazonaws.com\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\nauthorityInfoAccess=caIssuers;URI:http://crt.r2m02.test.amazontrust.com/r2m02.cer\n' > ext.cnf
openssl x509 -req -in signer.csr -CA intermediate.pem -CAkey intermediate.key -CAcreateserial -out signer.pem -days 36500 -extfile ext.cnf 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in signer.key -outform DER -out signer.pk8
rm -f signer.csr intermediate.csr ext.cnf ca-ext.cnf ca.srl intermediate.srl ca.key intermediate.key signer.key intermediate.pem
