#!/bin/sh
# SPDX-License-Identifier: MIT
# https_server fetched with curl and openssl s_client (a self-signed
# certificate made here): pages, a 3 MiB file, an empty file, errors, TLS
# 1.2 and 1.3, 32 downloads at once; the kTLS path where the kernel has it
# (a SKIP line with the reason where it does not) and --tls kernel, whose
# refused connections must fall back to userspace TLS; SIGTERM with a client
# connected; bad arguments, unreadable files, a port in use.
set -u
T_NAME=https_server
. "$(dirname "$0")/lib.sh"

for bad in "" "--cert c --key k" "--cert c --key k --root r --tls x" "--port x --cert c --key k --root r" \
	"--cert c --key k --root r extra"; do
	ex https_server $bad >/dev/null 2>"$T_DIR/err" && fail "accepted '$bad'"
	[ $? -eq 2 ] || fail "'$bad': exit status is not 2"
done
command -v openssl >/dev/null && command -v curl >/dev/null || skip "openssl and curl are needed (make deps)"

D=$T_DIR
mkdir -p "$D/root/sub"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$D/key.pem" -out "$D/cert.pem" 2>/dev/null ||
	fail "openssl could not make a certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=other \
	-keyout "$D/other.pem" -out "$D/other-cert.pem" 2>/dev/null
CERTS="--cert $D/cert.pem --key $D/key.pem"

# Files it cannot use: a clear reason and exit 1.
ex https_server --cert "$D/none.pem" --key "$D/key.pem" --root "$D/root" 2>"$D/err" && fail "missing cert"
grep -q "cannot read .*none.pem: No such file" "$D/err" || fail "missing cert: $(cat "$D/err")"
ex https_server --cert "$D/cert.pem" --key "$D/other.pem" --root "$D/root" 2>"$D/err" && fail "wrong key"
grep -q "does not match" "$D/err" || fail "wrong key: $(cat "$D/err")"
ex https_server $CERTS --root "$D/nowhere" 2>"$D/err" && fail "missing root"
grep -q "cannot serve .*nowhere: No such file" "$D/err" || fail "missing root: $(cat "$D/err")"

ready multishot_accept recv send read poll_add splice openat2 statx

echo '<h1>safer-ring</h1>' >"$D/root/index.html"
echo 'hello over TLS' >"$D/root/hello.txt"
head -c $((3 * 1048576 + 7)) /dev/urandom >"$D/root/big.bin"
: >"$D/root/empty"
echo 'sub index' >"$D/root/sub/index.html"
echo 'secret' >"$D/secret"
ln -s ../secret "$D/root/escape"

fetch() {	# fetch PATH [curl args]: body on stdout, "STATUS" in $D/code
	p=$1
	shift
	curl -sS --max-time 20 --cacert "$D/cert.pem" -w '%{http_code}' -o "$D/body" "$@" \
		"https://localhost:$port$p" >"$D/code" 2>"$D/curl.err" || fail "curl $p: $(cat "$D/curl.err")"
	cat "$D/body"
}
expect() {	# expect PATH STATUS [curl args]
	p=$1
	s=$2
	shift 2
	fetch "$p" "$@" >/dev/null
	[ "$(cat "$D/code")" = "$s" ] || fail "$p: status $(cat "$D/code"), expected $s"
}

serve_checks() {
	[ "$(fetch /)" = '<h1>safer-ring</h1>' ] || fail "/: $(cat "$D/body")"
	[ "$(fetch /hello.txt --tlsv1.3)" = 'hello over TLS' ] || fail "TLS 1.3 /hello.txt"
	[ "$(fetch /hello.txt --tlsv1.2 --tls-max 1.2)" = 'hello over TLS' ] || fail "TLS 1.2 /hello.txt"
	[ "$(fetch /sub/)" = 'sub index' ] || fail "/sub/"
	fetch /big.bin >/dev/null && cmp -s "$D/body" "$D/root/big.bin" || fail "/big.bin differs"
	fetch /empty >/dev/null && [ ! -s "$D/body" ] && [ "$(cat "$D/code")" = 200 ] || fail "/empty"
	expect /nope 404
	expect /sub 403
	expect /escape 403
	expect /../secret 403 --path-as-is
	expect /hello.txt 405 -X POST
	# openssl s_client, speaking HTTP/1.0 by hand.
	printf 'GET /big.bin HTTP/1.0\r\nHost: localhost\r\n\r\n' |
		timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$D/cert.pem" \
		-verify_return_error -quiet >"$D/s_client.out" 2>"$D/s_client.err" ||
		fail "s_client: $(cat "$D/s_client.err")"
	head -1 "$D/s_client.out" | grep -q "^HTTP/1.1 200 OK" || fail "s_client: $(head -3 "$D/s_client.out")"
	tail -c $((3 * 1048576 + 7)) "$D/s_client.out" | cmp -s - "$D/root/big.bin" || fail "s_client: /big.bin differs"
	# 32 downloads at once.
	pids=""
	for i in $(seq 32); do
		curl -sS --max-time 30 --cacert "$D/cert.pem" -o "$D/par$i" "https://localhost:$port/big.bin" &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || fail "a parallel download failed"
	done
	for i in $(seq 32); do
		cmp -s "$D/par$i" "$D/root/big.bin" || fail "parallel download $i differs"
	done
}

# The default: kTLS where the kernel has it.
start_server auto https_server $CERTS --root "$D/root"
path=$(sed -n 2p "$D/auto.out")
case "$path" in
"tls: kernel TLS"*) note "kTLS path: $path" ;;
"tls: userspace TLS"*) echo "$T_NAME$T_TAG: SKIP: kTLS path: $(echo "$path" | sed 's/.*(kTLS not used: \(.*\))$/\1/')" ;;
*) fail "no path line: $path" ;;
esac
serve_checks
ex https_server $CERTS --root "$D/root" --port "$port" 2>"$D/err" && fail "a second server took port $port"
grep -q "Address already in use" "$D/err" || fail "port in use: $(cat "$D/err")"
stop_server TERM
line=$(tail -1 "$D/auto.out")
echo "$line" | grep -q "^https_server: SIGTERM: 44 connections (.*), 39 responses 200 and 5 errors" ||
	fail "summary: $line"
note "curl (TLS 1.2, 1.3) and s_client: pages, 3 MiB, empty, 404/403/405, 32 at once: $(echo "$line" | sed 's/.*: //')"

# --tls kernel: kTLS asked for; a connection the kernel refuses carries on in userspace.
start_server kernel https_server $CERTS --root "$D/root" --tls kernel
serve_checks
stop_server INT
line=$(tail -1 "$D/kernel.out")
echo "$line" | grep -q "^https_server: SIGINT: 44 connections" || fail "summary: $line"
refused=$(echo "$line" | sed -n 's/.*, \([0-9]*\) kTLS refused.*/\1/p')
if [ "$refused" -gt 0 ]; then
	grep -q "did not take the keys" "$D/kernel.err" || fail "no note on the refused kTLS: $(cat "$D/kernel.err")"
	note "--tls kernel: the kernel refused kTLS for $refused connections; each fell back to userspace TLS"
else
	note "--tls kernel: $(echo "$line" | sed 's/.*: //')"
fi

# SIGTERM with clients connected and waiting: their ops are cancelled, exit 0.
start_server idle https_server $CERTS --root "$D/root"
for i in 1 2 3; do
	sleep 10 | timeout 20 openssl s_client -connect "127.0.0.1:$port" -quiet >/dev/null 2>&1 &
	T_PIDS="$T_PIDS $!"
done
i=0	# until the three are connected (at most 5 s)
while [ "$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)" -lt 3 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5	# and past their handshakes
stop_server TERM
tail -1 "$D/idle.out" | grep -q "^https_server: SIGTERM: 3 connections" || fail "idle: $(tail -1 "$D/idle.out")"
note "SIGTERM with 3 idle TLS clients: ops cancelled, exit 0"
note "bad arguments exit 2; a missing certificate, a wrong key, a missing root and a port in use exit 1"
