#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# apache/hostscan-tls.conf as shipped (only the port, the socket and the
# certificate paths changed) in a private Apache with mod_ssl and
# mod_http2, with a CA and certificate the test makes: TLS 1.1 is refused
# (while the same client reaches a TLS 1.1 server), TLS 1.2 and 1.3 work,
# HTTP/2 is negotiated, every answer carries HSTS, and the API answers
# through it (an authorised POST lands, 401 and 404 are problems).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT free_port scratch_dir note_secret run_cmd wait_exit);
use Web qw(render apache_start apache_stop make_ca);
use Test::More;
use HTTP::Tiny;
use IO::Socket::SSL ();
use JSON::PP ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $T = scratch_dir();
my $RUN = "apache-tls-$$";
my $tok = note_secret(token(roles => 'Admin', sub => $RUN), $0);
my $ca = make_ca("$T/$RUN-ca");
my $HSTS = 'max-age=63072000';

my $port = free_port();
my $a = apache_start(port => $port,
    site => render('apache/hostscan-tls.conf', {
	'Listen 443 https' => "Listen 127.0.0.1:$port https",
	'<VirtualHost *:443>' => "<VirtualHost 127.0.0.1:$port>",
	'/etc/ssl/certs/hostscan.crt' => $ca->{cert},
	'/etc/ssl/private/hostscan.key' => $ca->{key},
	'/run/hostscan/hostscan.sock' => "$T/sock/hostscan.sock" }),
    modules => [qw(socache_shmcb ssl http2 proxy proxy_fcgi)],
    main => "SSLSessionCache shmcb:$T/$RUN-scache(512000)\n");
my $base = "https://localhost:$port";

# curl with the test CA: (exit status, HTTP status, HTTP version, TLS
# version, headers, body).
my $n = 0;
sub curl {
	my ($path, @opt) = @_;
	my $hdr = "$T/$RUN-h" . ++$n;
	my ($rc, $out, $err) = run_cmd(['curl', '-sS', '-v', '--max-time',
	    HS::scaled(30), '--cacert', $ca->{ca}, '-D', $hdr, '-o', '-',
	    '-w', '\n%{http_code} %{http_version}', @opt, "$base$path"]);
	my ($body, $code, $ver) = $out =~ /\A(.*)\n(\d+) (\S+)\z/s;
	my ($tls) = $err =~ /SSL connection using (TLSv[\d.]+)/;
	my %h;
	for (split /\r?\n/, -e $hdr ? HS::slurp($hdr) : '') {
		$h{lc $1} = $2 if /\A([^:\s]+):\s*(.*?)\s*\z/;
	}
	return { rc => $rc, status => ($code // 0) + 0, http => $ver // '',
	    tls => $tls // '', headers => \%h, body => $body // '',
	    err => $err };
}

# ---- protocol versions ---------------------------------------------------
my $old = ['--tlsv1.1', '--tls-max', '1.1', '--ciphers', 'DEFAULT@SECLEVEL=0'];
my $r = curl('/api/v1/Version', @$old);
isnt($r->{rc}, 0, 'TLS 1.1: the handshake fails');
is($r->{status}, 0, 'TLS 1.1: no HTTP answer');
like($r->{err}, qr/alert protocol version|unsupported protocol|wrong version/i,
    'TLS 1.1: refused for its version') or diag($r->{err});

# The same client options against a server that does speak TLS 1.1: the
# refusal above is the site's, not the client's.
{
	my $p = free_port();
	my $pid = HS::spawn_logged(['openssl', 's_server', '-quiet', '-www',
	    '-accept', "127.0.0.1:$p", '-cert', $ca->{cert}, '-key', $ca->{key},
	    '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], "$T/$RUN-s_server.log");
	ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $p) }, 10), 'a TLS 1.1 control server listens');
	my ($rc, $out, $err) = run_cmd(['curl', '-sS', '-v', '--max-time',
	    HS::scaled(30), '--cacert', $ca->{ca}, '-o', '/dev/null', @$old,
	    "https://localhost:$p/"]);
	is($rc, 0, 'the TLS 1.1 client options do reach a TLS 1.1 server')
	    or diag($err);
	like($err, qr/SSL connection using TLSv1\.1/, '... over TLS 1.1');
	kill 'TERM', $pid;
	wait_exit($pid, 5);
}

for my $v (['1.2', ['--tlsv1.2', '--tls-max', '1.2']],
    ['1.3', ['--tlsv1.3']]) {
	my ($name, $opt) = @$v;
	$r = curl('/api/v1/Version', '--http1.1', @$opt);
	is($r->{rc}, 0, "TLS $name: curl verifies the certificate and succeeds")
	    or diag($r->{err});
	is($r->{tls}, "TLSv$name", "TLS $name: negotiated");
	is($r->{status}, 200, "TLS $name: GET Version 200");
	is($r->{headers}{'strict-transport-security'}, $HSTS,
	    "TLS $name: HSTS");
}

# ---- HTTP/2 --------------------------------------------------------------
$r = curl('/api/v1/Version', '--http2');
is($r->{rc}, 0, 'HTTP/2: curl succeeds') or diag($r->{err});
is($r->{http}, '2', 'HTTP/2 negotiated (ALPN h2)');
is($r->{status}, 200, 'HTTP/2: GET Version 200');
is($r->{headers}{'strict-transport-security'}, $HSTS, 'HTTP/2: HSTS');

$r = curl('/api/v1/HostScanJob?limit=1', '--http2');
is($r->{status}, 401, 'HTTP/2: no token 401 from the responder');
is($r->{headers}{'www-authenticate'}, 'Bearer', '... with WWW-Authenticate');
is($r->{headers}{'strict-transport-security'}, $HSTS, '... and HSTS');

$r = curl('/index.html', '--http2');
is($r->{status}, 404, "HTTP/2: a path outside the API is Apache's 404");
like($r->{headers}{'content-type'} // '', qr{\Aapplication/problem\+json},
    '... a problem');
is((eval { $J->decode($r->{body}) } // {})->{status}, 404,
    '... whose body is the problem');
is($r->{headers}{'strict-transport-security'}, $HSTS,
    "HSTS on Apache's own errors too");

# ---- an authorised POST through TLS (HTTP/1.1, verified) -----------------
my $ua = HTTP::Tiny->new(timeout => HS::scaled(30), verify_SSL => 1,
    SSL_options => { SSL_ca_file => $ca->{ca} });
my $res = $ua->request('POST', "$base/api/v1/HostScanJob", {
    headers => { Authorization => "Bearer $tok",
	'Content-Type' => 'application/json' },
    content => $J->encode([host_item(dnsHostName => 'tls.apache.test')]) });
is($res->{status}, 200, 'an authorised POST over TLS is 200')
    or diag("$res->{status} $res->{content}");
my ($id) = ($res->{content} // '') =~ /"id":"([0-9a-f-]{36})"/;
is(psql("SELECT count(*) FROM host_scan_host WHERE job_id = '"
    . ($id // '00000000-0000-0000-0000-000000000000') . "'"), 1,
    '... and its job is stored');

is(apache_stop($a), 0, 'Apache stops with status 0');
unlike(HS::slurp($a->{error_log}), qr/\[ssl:(?:error|emerg)\]/,
    'mod_ssl logged no error');

done_testing;
