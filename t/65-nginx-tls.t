#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# nginx/hostscan-tls.conf as shipped (only the listen address, the socket
# and the certificate paths changed) in front of a real responder, with a
# certificate from a private CA the test makes, checked with curl
# --cacert: TLS 1.1 refused by the server, TLS 1.2 and 1.3 accepted,
# HTTP/2 negotiated, HSTS on every response, a POST and a GET of the API
# over it; and the site keeps every directive of nginx/hostscan.conf.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT run_cmd scratch_dir note_secret note_secret_source
    sql_quote);
use Site;
use Test::More;
use JSON::PP ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $SRC = HS::env_required('HOSTSCAN_SRCDIR');
my $NAME = 'hostscan.example.org';
my $RUN = "tls-$$-" . time;
my $dir = scratch_dir() . "/$RUN";
mkdir $dir or die "$dir: $!\n";

# The same site as hostscan.conf: every directive but the TLS ones.
is_deeply(Site::server_directives("$SRC/nginx/hostscan-tls.conf",
    qr/\A(?:listen|server_name|ssl_\w+) |Strict-Transport-Security/),
    Site::server_directives("$SRC/nginx/hostscan.conf",
    qr/\A(?:listen|server_name) /),
    'hostscan-tls.conf has every directive of hostscan.conf, and no other but TLS and HSTS');

sub openssl {
	my (@args) = @_;
	my ($rc, $out, $err) = run_cmd(['openssl', @args]);
	die "openssl @args[0, 1] failed ($rc): $err\n" if $rc != 0;
	return $out;
}

# A private CA and a server certificate for $NAME that it signed.
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$dir/ca.key", '-out',
    "$dir/ca.crt", '-days', 2, '-subj', "/CN=hostscan test CA $RUN",
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', "$dir/server.key", '-out', "$dir/server.csr",
    '-subj', "/CN=$NAME");
open(my $ext, '>', "$dir/server.ext") or die "$dir/server.ext: $!\n";
print $ext "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    . "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:$NAME\n";
close $ext or die "$dir/server.ext: $!\n";
openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.crt",
    '-CAkey', "$dir/ca.key", '-CAcreateserial', '-days', 2, '-out',
    "$dir/server.crt", '-extfile', "$dir/server.ext");
for my $k ("$dir/ca.key", "$dir/server.key") {
	chmod 0600, $k;
	note_secret_source($k);
	note_secret(HS::slurp($k), "t/65-nginx-tls.t $k");
}

my $resp = start_responder(workers => 2);
my $port = HS::free_port();
my $web = Site::nginx(site => 'hostscan-tls.conf', port => $port, subs => [
    'listen 443 ssl http2;' => "listen 127.0.0.1:$port ssl http2;",
    'unix:/run/hostscan/hostscan.sock' => "unix:$resp->{socket}",
    '/etc/ssl/certs/hostscan.crt' => "$dir/server.crt",
    '/etc/ssl/private/hostscan.key' => "$dir/server.key"]);
my $base = "https://$NAME:$port";

# curl against the site: the name resolves to 127.0.0.1, the only trust
# anchor is the private CA.  Options that carry a secret go in a config
# on stdin, not in argv, and then without -v, which would print them.
# Returns (exit, body, headers, stderr).
my $n = 0;
sub curl {
	my ($path, %o) = @_;
	my ($body, $head) = ("$dir/body." . ++$n, "$dir/head.$n");
	my @cmd = ('curl', '-sS', $o{config} ? () : '-v', '--max-time', 30,
	    '--resolve',
	    "$NAME:$port:127.0.0.1", '--cacert', "$dir/ca.crt", '-o', $body,
	    '-D', $head, '-K', '-', @{$o{args} // []}, "$base$path");
	my ($rc, $out, $err) = run_cmd(\@cmd, stdin => $o{config} // '');
	return ($rc, HS::slurp($body), HS::slurp($head), $err);
}

# Refused by the server: the client offers TLS 1.1 only, with the
# security level lowered so that OpenSSL 3 may offer it at all; the
# "protocol version" alert is the server's answer (a client that could not
# offer TLS 1.1 would fail with "no protocols available" instead).
my ($rc, $body, $head, $err) = curl('/api/v1/Version',
    args => ['--tlsv1.1', '--tls-max', '1.1', '--ciphers',
    'DEFAULT@SECLEVEL=0']);
is($rc, 35, 'TLS 1.1: curl fails in the handshake (exit 35)') or diag($err);
like($err, qr/alert protocol version/,
    'TLS 1.1: the server refused it with a protocol_version alert');
is($head, '', 'TLS 1.1: no HTTP response');

for my $v ('1.2', '1.3') {
	($rc, $body, $head, $err) = curl('/api/v1/Version',
	    args => ["--tlsv$v", '--tls-max', $v, '--http1.1']);
	is($rc, 0, "TLS $v: curl succeeds") or diag($err);
	like($err, qr/SSL connection using TLSv\Q$v\E /, "TLS $v: negotiated");
	like($head, qr{\AHTTP/1\.1 200 }, "TLS $v: GET /api/v1/Version is 200");
	like($err, qr/SSL certificate verify ok/,
	    "TLS $v: the certificate verified against the private CA");
}

($rc, $body, $head, $err) = curl('/api/v1/Version', args => ['--http2']);
is($rc, 0, 'HTTP/2: curl succeeds') or diag($err);
like($err, qr/ALPN: server accepted h2/, 'HTTP/2: ALPN selected h2');
like($head, qr{\AHTTP/2 200 ?\r\n}, 'HTTP/2: the response is HTTP/2, status 200');
like($head, qr/^strict-transport-security: max-age=63072000\r$/mi,
    'HSTS on an API response');
ok(defined eval { $J->decode($body) }, 'HTTP/2: the body is JSON');

# nginx's own answers carry HSTS too, the 503 with its own add_header.
($rc, $body, $head, $err) = curl('/no/such/route', args => ['--http2']);
like($head, qr{\AHTTP/2 404 ?\r\n}, "nginx's own 404 over HTTP/2");
like($head, qr/^strict-transport-security: max-age=63072000\r$/mi,
    "HSTS on nginx's own 404");

# The API over it: an authorised POST and a GET of the job it made.
my $tok = token(roles => 'Admin', sub => $RUN);
note_secret($tok, 't/65-nginx-tls.t token');
my $auth = qq{header = "Authorization: Bearer $tok"\n};
my @items = (host_item(dnsHostName => "a.$RUN.tls.test"),
    host_item(dnsHostName => "b.$RUN.tls.test"));
open(my $bf, '>', "$dir/post.json") or die "$dir/post.json: $!\n";
print $bf $J->encode(\@items);
close $bf or die "$dir/post.json: $!\n";
($rc, $body, $head, $err) = curl('/api/v1/HostScanJob', config => $auth,
    args => ['--http2', '-H', 'Content-Type: application/json',
    '--data-binary', "\@$dir/post.json"]);
is($rc, 0, 'POST over HTTPS: curl succeeds') or diag($err);
like($head, qr{\AHTTP/2 200 ?\r\n}, 'POST over HTTP/2: 200') or diag($body);
my $job = eval { $J->decode($body) } // {};
like($job->{id} // '', qr/\A[0-9a-f-]{36}\z/, 'POST: the answer has the job id');
is(psql('SELECT count(*) FROM host_scan_host WHERE job_id = '
    . sql_quote($job->{id} // '00000000-0000-0000-0000-000000000000')), 2,
    'POST: the job and its 2 hosts are in the database');
($rc, $body, $head, $err) = curl("/api/v1/HostScanJob/$job->{id}",
    config => $auth, args => ['--http2']);
like($head, qr{\AHTTP/2 200 ?\r\n}, 'GET of the job over HTTP/2: 200');
is((eval { $J->decode($body) } // {})->{id}, $job->{id},
    'GET: the job that the POST made');
# A 401 is the responder's own answer: HSTS is added to it as well.
($rc, $body, $head, $err) = curl('/api/v1/HostScanJob', args => ['--http2']);
like($head, qr{\AHTTP/2 401 ?\r\n}, 'without a token: 401 from the responder');
like($head, qr/^strict-transport-security: max-age=63072000\r$/mi,
    "HSTS on the responder's 401");

is(HS::stop_nginx($web), 0, 'nginx stops cleanly');
is(stop_responder($resp), 0, 'the responder stops cleanly');
done_testing();
