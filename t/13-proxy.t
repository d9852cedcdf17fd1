#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Reverse-proxied deployments, through real nginx: the API under a path
# prefix (url_prefix, and nginx's fastcgi_split_path_info giving it as
# SCRIPT_NAME) with its Link headers under the prefix and a 404 outside
# it; and the client address behind trusted_proxies (a CIDR block) from
# X-Forwarded-For and Forwarded, sent by the test as a trusted peer, by an
# untrusted peer (spoofing), and through a real nginx reverse proxy in
# front, as createdFromAddress and as addr= of the request log line.
# Last, plain CGI with the variables Apache's mod_cgi passes for an alias
# anchored at /hostscan (SCRIPT_NAME=/hostscan, PATH_INFO=/api/v1/...).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT scratch_dir run_cmd);
use JSON::PP ();
use Check qw(log_size log_since);
use Test::More;

need_services();

my $RUN = "proxy-$$-" . time;
my $tok = token(roles => 'App', sub => $RUN);
my $P = '/hostscan';
my $TRUSTED = '127.0.0.0/31';	# 127.0.0.0 and 127.0.0.1; not .2 or .3

# R1: under /hostscan, trusting the test's 127.0.0.1.  R2: no url_prefix.
my $r1 = start_responder(workers => 1,
    config => { url_prefix => "$P/", trusted_proxies => $TRUSTED });
my $r2 = start_responder(workers => 1);

# A real nginx reverse proxy in front of the site, in the same nginx:
# one that appends X-Forwarded-For as nginx does, one that also appends to
# Forwarded.  Both connect from 127.0.0.1, a trusted proxy.
my ($front_xff, $front_both) = (HS::free_port(), HS::free_port());
my $site_port = HS::free_port();
my $inc = scratch_dir() . "/front-$$.conf";
open(my $fh, '>', $inc) or die "$inc: $!";
print $fh <<"EOF";
server {
	listen 127.0.0.1:$front_xff;
	location / {
		proxy_pass http://127.0.0.1:$site_port;
		proxy_bind 127.0.0.1;
		proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
	}
}
map \$http_forwarded \$hs_forwarded {
	"" "for=\$remote_addr";
	default "\$http_forwarded, for=\$remote_addr";
}
server {
	listen 127.0.0.1:$front_both;
	location / {
		proxy_pass http://127.0.0.1:$site_port;
		proxy_bind 127.0.0.1;
		proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
		proxy_set_header Forwarded \$hs_forwarded;
	}
}
EOF
close $fh or die "$inc: $!";

# N1: the shipped site moved under /hostscan, in front of R1.
my $n1 = nginx_for_socket($r1->{socket}, url_prefix => $P,
    port => $site_port, include => $inc);
# N2: the shipped site at the root, in front of R1 (outside its prefix).
my $n2 = nginx_for_socket($r1->{socket});
# N3: under /hostscan, nginx splitting the path: SCRIPT_NAME is the prefix.
my $n3 = nginx_for_socket($r2->{socket}, url_prefix => $P,
    params_extra => 'fastcgi_split_path_info ^(/hostscan)(/.*)$;');

sub post_job {
	my ($url, $name, %o) = @_;
	(my $host = lc $name) =~ s/[^a-z0-9]+/-/g;
	$host =~ s/\A-+|-+\z//g;
	my $r = api(POST => "$P/api/v1/HostScanJob", url => $url,
	    token => $tok, json => [host_item(dnsHostName => "$host.proxy.test")],
	    %o);
	is($r->{status}, 200, "$name: POST under $P is 200")
	    or diag($r->{content});
	return ref $r->{json} eq 'HASH' ? ($r->{json}{id}, $r) : (undef, $r);
}

sub created_from {
	my ($url, $id) = @_;
	return '(no job)' unless defined $id;
	my $r = api(GET => "$P/api/v1/HostScanJob/$id", url => $url,
	    token => $tok);
	return $r->{status} == 200 && ref $r->{json} eq 'HASH' ?
	    $r->{json}{createdFromAddress} // '(null)' : "($r->{status})";
}

# The request log line of the response's trace id: its addr=.
sub logged_addr {
	my ($log, $from, $res) = @_;
	my $trace = $res->{headers}{'x-trace-id'} // '';
	my ($line) = grep { /event=request trace=\Q$trace\E / }
	    split /\n/, log_since($log, $from);
	return $line && $line =~ / addr=(\S+)/ ? $1 : '(no line)';
}

# ---- the path prefix ----

{
	my $r = api(GET => "$P/api/v1/Version", url => $n1->{url});
	is($r->{status}, 200, 'url_prefix: GET /hostscan/api/v1/Version is 200');
	ok(length($r->{headers}{'x-trace-id'} // ''), '... answered by the '
	    . 'responder');
	$r = api(GET => '/api/v1/Version', url => $n1->{url});
	is($r->{status}, 404, 'url_prefix: /api/v1/Version outside the prefix '
	    . 'is 404 (nginx)');
	$r = api(POST => "$P/signinBody", url => $n1->{url},
	    headers => { 'Content-Type' => 'application/json' }, body => '{');
	is($r->{status}, 400, 'url_prefix: POST /hostscan/signinBody reaches '
	    . 'the sign-in route (400 for a body that is not JSON)');
	ok(length($r->{headers}{'x-trace-id'} // ''), '... from the responder');

	# The responder's own refusal of a path outside its prefix.
	$r = api(GET => '/api/v1/Version', url => $n2->{url});
	is($r->{status}, 404, 'url_prefix: the responder answers a path '
	    . 'outside /hostscan with 404');
	like($r->{headers}{'content-type'} // '', qr{\Aapplication/problem\+json},
	    '... a problem');
	ok(length($r->{headers}{'x-trace-id'} // ''), '... its own (X-Trace-Id)');
	is(ref $r->{json} eq 'HASH' ? $r->{json}{detail} : undef,
	    'no such route', '... "no such route"');
}

# Link headers carry the prefix, and following one works.
sub links_under_prefix {
	my ($what, $url) = @_;
	my @ids;
	for my $i (1 .. 3) {
		my ($id) = post_job($url, "$what-link$i");
		push @ids, $id;
	}
	my $r = api(GET => "$P/api/v1/HostScanJob?limit=1", url => $url,
	    token => $tok);
	is($r->{status}, 200, "$what: GET $P/api/v1/HostScanJob?limit=1 is 200");
	my $link = $r->{headers}{link} // '';
	like($link, qr{\A<\Q$P\E/api/v1/HostScanJob\?limit=1&after=[0-9a-f-]{36}>; rel="next"\z},
	    "$what: the next-page Link is under $P");
	my ($next) = $link =~ /\A<([^>]+)>/;
	$r = api(GET => $next // '/none', url => $url, token => $tok);
	is($r->{status}, 200, "$what: following the Link is 200");
	is(ref $r->{json} eq 'ARRAY' ? scalar @{$r->{json}} : -1, 1,
	    "$what: ... one job on the next page");
	isnt(ref $r->{json} eq 'ARRAY' && @{$r->{json}} ?
	    $r->{json}[0]{id} : undef, $ids[-1],
	    "$what: ... not the first page's job");
}

links_under_prefix('url_prefix', $n1->{url});
links_under_prefix('SCRIPT_NAME', $n3->{url});
{
	my $r = api(GET => '/api/v1/Version', url => $n3->{url});
	is($r->{status}, 404, 'SCRIPT_NAME: outside the prefix is 404');
}

# ---- the client address ----

my $log = $r1->{log};

# From an untrusted peer (127.0.0.2), both headers are ignored.
{
	my $mark = log_size($log);
	my ($id, $res) = post_job($n1->{url}, 'untrusted', from => '127.0.0.2',
	    headers => { 'X-Forwarded-For' => '198.51.100.7',
	    Forwarded => 'for=198.51.100.7' });
	is(created_from($n1->{url}, $id), '127.0.0.2',
	    'untrusted peer with both headers: createdFromAddress is the peer');
	is(logged_addr($log, $mark, $res), '127.0.0.2',
	    '... and addr= of its request line');
}

# From a trusted peer (127.0.0.1 in 127.0.0.0/31): the walk.
my @cases = (
	[ 'both headers agree, chained', { 'X-Forwarded-For' =>
	    '203.0.113.5, 198.51.100.7', Forwarded =>
	    'for=203.0.113.5, for=198.51.100.7;proto=https' }, '198.51.100.7' ],
	[ 'X-Forwarded-For past a trusted hop', { 'X-Forwarded-For' =>
	    '198.51.100.8, 127.0.0.0' }, '198.51.100.8' ],
	[ 'Forwarded, quoted IPv6 with a port', { Forwarded =>
	    'for="[2001:DB8::17]:4711";proto=https' }, '2001:db8::17' ],
	[ 'Forwarded, unknown stops the walk', { Forwarded =>
	    'for=198.51.100.9, for=unknown' }, '127.0.0.1' ],
	[ 'the headers disagree', { 'X-Forwarded-For' => '198.51.100.10',
	    Forwarded => 'for=203.0.113.10' }, '127.0.0.1' ],
	[ 'malformed Forwarded', { Forwarded => 'for="198.51.100.11' },
	    '127.0.0.1' ],
	[ 'two X-Forwarded-For lines are one list', { 'X-Forwarded-For' =>
	    [ '203.0.113.12', '198.51.100.12' ] }, '198.51.100.12' ],
	[ 'two Forwarded lines are one list', { Forwarded =>
	    [ 'for=203.0.113.13', 'for=198.51.100.13' ] }, '198.51.100.13' ],
	[ 'an oversized X-Forwarded-For', { 'X-Forwarded-For' =>
	    ('203.0.113.14, ' x 300) . '198.51.100.14' }, '127.0.0.1' ],
);
for my $c (@cases) {
	my ($what, $h, $want) = @$c;
	my $mark = log_size($log);
	my ($id, $res) = post_job($n1->{url}, "trusted-$what", headers => $h);
	is(created_from($n1->{url}, $id), $want,
	    "trusted peer, $what: createdFromAddress $want");
	is(logged_addr($log, $mark, $res), $want, '... and addr= in the log');
}

# Through a real nginx in front (a trusted proxy) from the client
# 127.0.0.3, which spoofs the headers.
{
	my $front = "http://127.0.0.1:$front_xff";
	my ($id) = post_job($front, 'front-xff', from => '127.0.0.3',
	    headers => { 'X-Forwarded-For' => '192.0.2.66' });
	is(created_from($n1->{url}, $id), '127.0.0.3',
	    'proxy appending X-Forwarded-For, client spoofing it: the client');
	($id) = post_job($front, 'front-xff-fwd', from => '127.0.0.3',
	    headers => { 'X-Forwarded-For' => '192.0.2.66',
	    Forwarded => 'for=192.0.2.66' });
	is(created_from($n1->{url}, $id), '127.0.0.1',
	    'proxy appending X-Forwarded-For, client spoofing Forwarded too: '
	    . 'the headers disagree, so the proxy, never the spoofed address');
	$front = "http://127.0.0.1:$front_both";
	($id) = post_job($front, 'front-both', from => '127.0.0.3',
	    headers => { 'X-Forwarded-For' => '192.0.2.66',
	    Forwarded => 'for=192.0.2.66' });
	is(created_from($n1->{url}, $id), '127.0.0.3',
	    'proxy appending to both, client spoofing both: the client');
	($id) = post_job($front, 'front-both-none', from => '127.0.0.3');
	is(created_from($n1->{url}, $id), '127.0.0.3',
	    'proxy appending to both, nothing spoofed: the client');
}

# Plain CGI as Apache runs it under ScriptAliasMatch "^/hostscan/(api/.*)"
# (what Apache 2.4 of Debian 12 was seen to pass), no url_prefix.
{
	my $conf = scratch_dir() . "/cgi-$$.conf";
	HS::write_config_copy($conf, { trusted_proxies => $TRUSTED },
	    ['url_prefix']);
	my %env = (
		GATEWAY_INTERFACE => 'CGI/1.1', SERVER_PROTOCOL => 'HTTP/1.1',
		HOSTSCAN_CONFIG => $conf, REQUEST_METHOD => 'GET',
		SCRIPT_NAME => $P, PATH_INFO => '/api/v1/HostScanJob',
		REQUEST_URI => "$P/api/v1/HostScanJob?limit=1",
		QUERY_STRING => 'limit=1', HTTP_AUTHORIZATION => "Bearer $tok",
		REMOTE_ADDR => '127.0.0.1',
	);
	my ($rc, $out, $err) = run_cmd([$ENV{HOSTSCAN_FCGI}], env => \%env);
	is($rc, 0, 'CGI: exit status 0') or diag($err);
	like($out, qr{\AStatus: 200\b.*^Link: <\Q$P\E/api/v1/HostScanJob\?limit=1&after=[0-9a-f-]{36}>; rel="next"\r$}ms,
	    'CGI: SCRIPT_NAME is the prefix of the Link') or diag($out);
	my $body = JSON::PP->new->utf8->encode([host_item(
	    dnsHostName => 'cgi.proxy.test')]);
	($rc, $out, $err) = run_cmd([$ENV{HOSTSCAN_FCGI}], stdin => $body,
	    env => { %env, REQUEST_METHOD => 'POST', QUERY_STRING => '',
	    REQUEST_URI => "$P/api/v1/HostScanJob",
	    CONTENT_TYPE => 'application/json',
	    CONTENT_LENGTH => length($body),
	    HTTP_X_FORWARDED_FOR => '203.0.113.5, 198.51.100.21',
	    HTTP_FORWARDED => 'for=203.0.113.5, for=198.51.100.21' });
	is($rc, 0, 'CGI POST: exit status 0') or diag($err);
	my ($id) = $out =~ /"id":"([0-9a-f-]{36})"/;
	is(created_from($n1->{url}, $id), '198.51.100.21',
	    'CGI from a trusted peer, both headers agreeing: the client');
}

stop_nginx($_) for ($n1, $n2, $n3);
is(stop_responder($r1), 0, 'R1 stops cleanly');
is(stop_responder($r2), 0, 'R2 stops cleanly');
done_testing();
