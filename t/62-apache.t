#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The three shipped Apache httpd 2.4 setups, each rendered with only ports
# and paths changed and run as a private Apache: mod_proxy_fcgi to the
# responder's socket, mod_fcgid starting and stopping the responder
# itself, and plain CGI (mod_cgi under prefork, mod_cgid under event, and
# mod_cgid with suexec running a per-user binary as that user, under
# Debian's suexec in a private mount namespace).  Each
# serves the API (a POST that lands, a GET, 401 with WWW-Authenticate,
# 404/405/413 problems), passes Authorization and never HTTP_PROXY, and
# answers whole every request refused before its body was read (the CGI
# drain: under mod_cgid an unread body used to reset the connection).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT hosts_of_job free_port scratch_dir note_secret child_pids run_cmd
    wait_exit);
use Web qw(render apache_start apache_stop http_raw);
use Test::More;
use File::Copy ();
use File::Path ();
use JSON::PP ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $T = scratch_dir();
my $RUN = "apache-$$";
my $tok = note_secret(token(roles => 'Admin', sub => $RUN), $0);
my $user_tok = note_secret(token(roles => 'User', sub => "$RUN-user"), $0);
my $BUILD = HS::env_required('HOSTSCAN_BUILDDIR');
my $FCGI = HS::env_required('HOSTSCAN_FCGI');
my $CONF = HS::env_required('HOSTSCAN_CONFIG');
my $ECHO = HS::env_required('HOSTSCAN_SRCDIR') . '/t/tools/fcgi-env';
my $BODY = 'x' x (1024 * 1024);
my $MIB9 = 9 * 1024 * 1024;

# Sanitizer options for what Apache starts (mod_fcgid and mod_cgi pass
# only what they are told to).
my @san = sort grep { /\A(?:ASAN|UBSAN|LSAN)_OPTIONS\z/ && length $ENV{$_} }
    keys %ENV;

sub problem_ok {
	my ($r, $status, $what) = @_;
	is($r->{status}, $status, "$what: $status");
	like($r->{headers}{'content-type'} // '',
	    qr{\Aapplication/problem\+json\b}, "$what: problem+json");
	my $b = eval { $J->decode($r->{content}) };
	is(ref $b eq 'HASH' ? $b->{status} : undef, $status,
	    "$what: the body is the whole problem, status $status")
	    or diag($r->{raw} // $r->{content});
}

# The API through $url, as t/60-modes.t checks it through nginx.
sub serves_api {
	my ($what, $url) = @_;
	my $r = api(GET => '/api/v1/Version', url => $url);
	is($r->{status}, 200, "$what: GET Version 200");
	my @items = map {
	    host_item(dnsHostName => "$_.$what.apache.test" =~ tr/_/-/r) }
	    qw(a b);
	$r = api(POST => '/api/v1/HostScanJob', url => $url, token => $tok,
	    json => \@items);
	is($r->{status}, 200, "$what: an authorised POST is 200 "
	    . '(Authorization reached the responder)') or diag($r->{content});
	my $id = ref $r->{json} eq 'HASH' ? $r->{json}{id} : undef;
	is(hosts_of_job($id), 2, "$what: the job and its 2 hosts are stored");
	$r = api(GET => "/api/v1/HostScanJob/$id", url => $url, token => $tok);
	is($r->{status}, 200, "$what: GET the job 200");
	is(ref $r->{json} eq 'HASH' ? $r->{json}{id} : '', $id // 'none',
	    "$what: ... it is the job posted");
	$r = api(GET => '/api/v1/HostScanJob?limit=1', url => $url);
	problem_ok($r, 401, "$what: no token");
	is($r->{headers}{'www-authenticate'}, 'Bearer',
	    "$what: 401 with WWW-Authenticate: Bearer");
	$r = api(GET => '/api/v1/HostScanJob?limit=1', url => $url,
	    token => "$tok.forged");
	like($r->{headers}{'www-authenticate'} // '',
	    qr/\ABearer error="invalid_token"/, "$what: a bad token's 401 says "
	    . 'invalid_token (the header reached the responder)');
	problem_ok(api(GET => '/api/v1/Nope', url => $url, token => $tok), 404,
	    "$what: unknown API route");
	problem_ok(api(GET => '/index.html', url => $url), 404,
	    "$what: a path outside the API (Apache's own 404)");
	$r = api(PATCH => '/api/v1/HostScanJob', url => $url, token => $tok,
	    json => []);
	problem_ok($r, 405, "$what: PATCH");
	is($r->{headers}{allow}, 'GET, HEAD, POST', "$what: 405 with Allow");
	$r = api(POST => '/api/v1/HostScanJob', url => $url, token => $tok,
	    body => 'x' x $MIB9, headers => {'Content-Type' => 'application/json'});
	problem_ok($r, 413, "$what: a 9 MiB body");
	$r = api(GET => '/SIGNINBODY/', url => $url);
	problem_ok($r, 405, "$what: GET on the sign-in route in other letter "
	    . 'case, trailing slash');
	is($r->{headers}{allow}, 'POST', "$what: ... answered by the responder "
	    . '(Allow: POST)');
}

# Every request refused before its 1 MiB body was read arrives whole.
sub refusals_whole {
	my ($what, $port) = @_;
	my $post = sub {
		my ($path, %h) = @_;
		my $head = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
		return http_raw($port, "POST $path HTTP/1.1\r\nHost: localhost\r\n"
		    . "Connection: close\r\n$head\r\n$BODY");
	};
	my %cl = ('Content-Length' => length $BODY);
	my @cases = (
	    [401, 'no token', '/api/v1/HostScanJob',
		%cl, 'Content-Type' => 'application/json'],
	    [403, 'a User token', '/api/v1/HostScanJob', %cl,
		'Content-Type' => 'application/json',
		Authorization => "Bearer $user_tok"],
	    [415, 'text/plain', '/api/v1/HostScanJob', %cl,
		'Content-Type' => 'text/plain', Authorization => "Bearer $tok"],
	    [404, 'an unknown route', '/api/v1/Nope', %cl,
		'Content-Type' => 'application/json'],
	    [405, 'POST on Version', '/api/v1/Version', %cl,
		'Content-Type' => 'application/json'],
	);
	for my $c (@cases) {
		my ($status, $name, $path, %h) = @$c;
		my $r = $post->($path, %h);
		problem_ok($r, $status, "$what: refused unread, $name");
		ok($r->{whole}, "$what: $name: the answer ends where its "
		    . 'framing says') or diag(substr($r->{raw}, 0, 400));
	}
}

# What the application was given, from the echo responder (or CGI) at $url.
sub env_seen {
	my ($url) = @_;
	my $r = api(POST => '/api/v1/HostScanJob?x=1', url => $url,
	    token => 'seen-by-the-app', json => [],
	    headers => { Proxy => 'http://attacker.example:3128' });
	return ref $r->{json} eq 'HASH' ? $r->{json} : {};
}

sub httpoxy_ok {
	my ($what, $env) = @_;
	is($env->{REQUEST_METHOD}, 'POST', "$what: the echo answered");
	ok(!exists $env->{HTTP_PROXY}, "$what: no HTTP_PROXY (httpoxy)")
	    or diag("HTTP_PROXY=$env->{HTTP_PROXY}");
	is($env->{HTTP_AUTHORIZATION}, 'Bearer seen-by-the-app',
	    "$what: Authorization passed");
}

sub fcgid_main {
	my ($dir) = @_;
	mkdir $dir;
	my (undef, undef, $uid, $gid) = getpwnam('www-data');
	chown $uid, $gid, $dir;
	# mod_fcgid cuts a FcgidInitialEnv value at 127 bytes: the
	# sanitizers read their options from a file instead.
	my $env = '';
	for my $k (@san) {
		Web::spew("$dir/$k", join("\n", split /:/, $ENV{$k}) . "\n");
		$env .= "FcgidInitialEnv $k \"include=$dir/$k\"\n";
	}
	return "FcgidIPCDir $dir\nFcgidProcessTableFile $dir/shm\n$env";
}

sub pass_san {
	return @san ? "PassEnv @san\n" : '';
}

# ---- mod_proxy_fcgi ------------------------------------------------------
{
	my $port = free_port();
	my %sub = ('127.0.0.1:8080' => "127.0.0.1:$port",
	    '/run/hostscan/hostscan.sock' => "$T/sock/hostscan.sock");
	my $a = apache_start(site => render('apache/hostscan-proxy-fcgi.conf',
	    \%sub), port => $port, modules => [qw(proxy proxy_fcgi)]);
	serves_api('proxy-fcgi', $a->{url});
	refusals_whole('proxy-fcgi', $port);
	is(apache_stop($a), 0, 'proxy-fcgi: Apache stops with status 0');

	# The same file in front of the echo responder.
	my $sock = "$T/$RUN-echo.sock";
	my $pid = HS::spawn_logged([$ECHO, '--listen', $sock], "$T/$RUN-echo.log");
	ok(wait_for(sub { -S $sock }, 10), 'the echo responder listens');
	$port = free_port();
	%sub = ('127.0.0.1:8080' => "127.0.0.1:$port",
	    '/run/hostscan/hostscan.sock' => $sock);
	$a = apache_start(site => render('apache/hostscan-proxy-fcgi.conf',
	    \%sub), port => $port, modules => [qw(proxy proxy_fcgi)]);
	my $env = env_seen($a->{url});
	httpoxy_ok('proxy-fcgi', $env);
	is($env->{DOCUMENT_URI}, '/api/v1/HostScanJob',
	    'proxy-fcgi: DOCUMENT_URI is the decoded path');
	my $r = http_raw($port, "GET /x/../api/v1/Host%53canJob HTTP/1.1\r\n"
	    . "Host: localhost\r\nConnection: close\r\n\r\n");
	my $e = eval { $J->decode($r->{content}) } // {};
	is($e->{DOCUMENT_URI}, '/api/v1/HostScanJob',
	    'proxy-fcgi: a path with /../ and %53 arrives normalised and decoded');
	apache_stop($a);
	kill 'TERM', $pid;
	wait_exit($pid, 5);
}

# ---- mod_fcgid -----------------------------------------------------------
{
	my $port = free_port();
	my %sub = ('127.0.0.1:8080' => "127.0.0.1:$port",
	    '/usr/local/sbin' => $BUILD, '/etc/hostscan/hostscan.conf' => $CONF);
	my $a = apache_start(site => render('apache/hostscan-fcgid.conf', \%sub),
	    port => $port, modules => ['fcgid'],
	    main => fcgid_main("$T/$RUN-fcgid"));
	serves_api('fcgid', $a->{url});
	refusals_whole('fcgid', $port);
	my ($rc, $out) = run_cmd(['pgrep', '-f', '--',
	    "^$BUILD/hostscan.fcgi --config $CONF --workers 1\$"]);
	my @fcgi = grep { /\A\d+\z/ } split /\s+/, $out;
	cmp_ok(scalar @fcgi, '>=', 2, 'fcgid: Apache runs the responder '
	    . '(a supervisor and its worker)') or diag("pgrep: $out");
	is(apache_stop($a), 0, 'fcgid: Apache stops with status 0');
	ok(wait_for(sub { !grep { kill 0, $_ } @fcgi }, 10),
	    "fcgid: Apache's stop leaves no responder process")
	    or diag("left: " . join ' ', grep { kill 0, $_ } @fcgi);

	my $dir = "$T/$RUN-echo-bin";
	mkdir $dir;
	chmod 0755, $dir;
	File::Copy::copy($ECHO, "$dir/hostscan.fcgi") or die "copy: $!";
	chmod 0755, "$dir/hostscan.fcgi";
	$port = free_port();
	%sub = ('127.0.0.1:8080' => "127.0.0.1:$port",
	    '/usr/local/sbin' => $dir, '/etc/hostscan/hostscan.conf' => $CONF);
	$a = apache_start(site => render('apache/hostscan-fcgid.conf', \%sub),
	    port => $port, modules => ['fcgid'],
	    main => fcgid_main("$T/$RUN-fcgid-echo"));
	my $env = env_seen($a->{url});
	httpoxy_ok('fcgid', $env);
	is($env->{PATH_INFO}, '/api/v1/HostScanJob', 'fcgid: the route is PATH_INFO');
	apache_stop($a);
}

# ---- plain CGI: mod_cgi (prefork) and mod_cgid (event) -------------------
sub cgi_site {
	my ($port, $cgibin, $etc) = @_;
	return render('apache/hostscan-cgi.conf', {
	    '127.0.0.1:8080' => "127.0.0.1:$port",
	    '/var/www/alice/cgi-bin' => $cgibin,
	    '/var/www/alice/etc/hostscan.conf' => $etc });
}

for my $m (['cgi', 'prefork'], ['cgid', 'event']) {
	my ($mod, $mpm) = @$m;
	my $what = "mod_$mod";
	my $bin = "$T/$RUN-$mod/cgi-bin";
	File::Path::make_path($bin);
	chmod 0755, "$T/$RUN-$mod", $bin;
	File::Copy::copy($FCGI, "$bin/hostscan.cgi") or die "copy: $!";
	chmod 0755, "$bin/hostscan.cgi";
	my $port = free_port();
	my $a = apache_start(site => cgi_site($port, $bin, $CONF), mpm => $mpm,
	    port => $port, modules => [$mod],
	    main => pass_san() . ($mod eq 'cgid' ?
	    "ScriptSock $T/$RUN-$mod/cgisock\n" : ''));
	serves_api($what, $a->{url});
	refusals_whole($what, $port);
	# A chunked body has no CONTENT_LENGTH under CGI: 411, drained to
	# its end, whole.
	my $r = http_raw($port, "POST /api/v1/HostScanJob HTTP/1.1\r\n"
	    . "Host: localhost\r\nConnection: close\r\nAuthorization: Bearer $tok\r\n"
	    . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	    . sprintf('%x', length $BODY) . "\r\n$BODY\r\n0\r\n\r\n");
	problem_ok($r, 411, "$what: a chunked body");
	ok($r->{whole}, "$what: the 411 arrives whole");
	unlike(HS::slurp($a->{error_log}), qr/AH00574|apr_bucket_read/,
	    "$what: Apache logged no failed read of a CGI answer");
	is(apache_stop($a), 0, "$what: Apache stops with status 0");

	# The responder's own 413: its max_body_bytes below Apache's limit.
	my $small = "$T/$RUN-$mod/small-body.conf";
	HS::write_config_copy($small, { max_body_bytes => 256 * 1024 });
	$port = free_port();
	$a = apache_start(site => cgi_site($port, $bin, $small), mpm => $mpm,
	    port => $port, modules => [$mod],
	    main => pass_san() . ($mod eq 'cgid' ?
	    "ScriptSock $T/$RUN-$mod/cgisock1\n" : ''));
	$r = http_raw($port, "POST /api/v1/HostScanJob HTTP/1.1\r\n"
	    . "Host: localhost\r\nConnection: close\r\nAuthorization: Bearer $tok\r\n"
	    . "Content-Type: application/json\r\nContent-Length: "
	    . length($BODY) . "\r\n\r\n$BODY");
	problem_ok($r, 413, "$what: 1 MiB over the responder's 256 KiB limit");
	ok($r->{whole}, "$what: the responder's 413 arrives whole")
	    or diag(substr($r->{raw}, 0, 400));
	unlike(HS::slurp($a->{error_log}), qr/AH00574|apr_bucket_read/,
	    "$what: ... and Apache logged no failed read");
	is(apache_stop($a), 0, "$what: Apache stops with status 0");

	# The environment a CGI program gets from the same file.
	File::Copy::copy($ECHO, "$bin/hostscan.cgi") or die "copy: $!";
	chmod 0755, "$bin/hostscan.cgi";
	$port = free_port();
	$a = apache_start(site => cgi_site($port, $bin, $CONF), mpm => $mpm,
	    port => $port, modules => [$mod],
	    main => $mod eq 'cgid' ? "ScriptSock $T/$RUN-$mod/cgisock2\n" : '');
	my $env = env_seen($a->{url});
	httpoxy_ok($what, $env);
	is($env->{HOSTSCAN_CONFIG}, $CONF, "$what: SetEnv HOSTSCAN_CONFIG arrives");
	is($env->{PATH_INFO}, '/api/v1/HostScanJob', "$what: the route is PATH_INFO");
	apache_stop($a);
}

# A CGI process reads the keyring only for a route that checks a token,
# and logs then that it cannot (a long-lived worker logs it at start).
{
	my $conf = "$T/$RUN-nokeyring.conf";
	my $ring = "$T/$RUN-missing.keyring";
	HS::write_config_copy($conf, { keyring => $ring });
	my %env = (GATEWAY_INTERFACE => 'CGI/1.1', SERVER_PROTOCOL => 'HTTP/1.1',
	    REQUEST_METHOD => 'GET', SCRIPT_NAME => '/cgi-bin/hostscan.cgi',
	    QUERY_STRING => '', REMOTE_ADDR => '192.0.2.10',
	    HOSTSCAN_CONFIG => $conf, HOSTSCAN_KEYRING => undef);
	my ($rc, $out, $err) = run_cmd([$FCGI], env => { %env,
	    PATH_INFO => '/api/v1/Version' });
	is($rc, 0, 'CGI without a keyring: Version exits 0');
	like($out, qr/\AStatus: 200\b/, '... and answers 200');
	unlike($err, qr/keyring/, '... without touching the keyring');
	($rc, $out, $err) = run_cmd([$FCGI], env => { %env,
	    PATH_INFO => '/api/v1/HostScanJob', HTTP_AUTHORIZATION =>
	    "Bearer $tok" });
	like($out, qr/\AStatus: 401\b/, 'CGI without a keyring: a token is refused');
	like($err, qr/event=keyring_load_failed path=\Q$ring\E /,
	    '... and the process logs that it cannot read the keyring');
}

# ---- suexec: the per-user binary runs as its user -------------------------
# Debian's suexec (apache2-suexec-pristine) runs programs under /var/www
# only, so the test's docroot is bind-mounted there in a private mount
# namespace that only this Apache sees (and its log directory over
# /var/log/apache2, where suexec writes): the shipped file is rendered
# with its /var/www/alice paths as they are.  suexec keeps only the
# variables on its safe list, so hostscan.cgi is the wrapper the file's
# comment describes.
{
	my $user = $ENV{HS_USER} // 'hostscan';
	my (undef, undef, $uid, $gid) = getpwnam($user);
	die "no user $user\n" unless defined $uid;
	my $group = getgrgid($gid);
	my $www = "$T/$RUN-www";
	my $home = "$www/alice";
	my $logs = "$T/$RUN-suexec-log";
	File::Path::make_path("$home/cgi-bin", "$home/bin", "$home/etc", $logs);
	chmod 0755, $www, $logs;
	chown $uid, $gid, $home, "$home/cgi-bin", "$home/bin", "$home/etc";
	chmod 0755, $home, "$home/cgi-bin", "$home/bin";
	chmod 0700, "$home/etc";
	File::Copy::copy($CONF, "$home/etc/hostscan.conf") or die "copy: $!";
	chown $uid, $gid, "$home/etc/hostscan.conf";
	chmod 0600, "$home/etc/hostscan.conf";
	my $install = sub {
		my ($prog) = @_;
		File::Copy::copy($prog, "$home/bin/hostscan.fcgi") or die "copy: $!";
		my $san = join '', map { "$_='$ENV{$_}' " } @san;
		Web::spew("$home/cgi-bin/hostscan.cgi", "#!/bin/sh\n$san"
		    . "HOSTSCAN_CONFIG=/var/www/alice/etc/hostscan.conf "
		    . "exec /var/www/alice/bin/hostscan.fcgi\n", 0755);
		chown $uid, $gid, "$home/bin/hostscan.fcgi",
		    "$home/cgi-bin/hostscan.cgi";
		chmod 0755, "$home/bin/hostscan.fcgi";
	};
	my $site = sub {
		my ($port) = @_;
		return render('apache/hostscan-cgi.conf', {
		    '127.0.0.1:8080' => "127.0.0.1:$port",
		    'SuexecUserGroup alice alice' =>
			"SuexecUserGroup $user $group" });
	};
	my %binds = ('/var/www' => $www, '/var/log/apache2' => $logs);
	my $what = 'suexec';

	$install->($FCGI);
	my $port = free_port();
	my $a = apache_start(site => $site->($port), port => $port,
	    modules => [qw(cgid suexec)], binds => \%binds,
	    main => "ScriptSock $T/$RUN-suexec-cgisock\nLogLevel notice\n");
	# Logged at start, maybe after the port accepts.
	ok(wait_for(sub { HS::slurp($a->{error_log}) =~
	    /suEXEC mechanism enabled/ }, 10),
	    "$what: Apache found the setuid suexec");
	serves_api($what, $a->{url});
	refusals_whole($what, $port);
	my $log = HS::slurp("$logs/suexec.log");
	my $ran = qr/uid: \($uid\/\Q$user\E\) gid: \($gid\/\Q$group\E\) /;
	like($log, qr/${ran}cmd: hostscan\.cgi/,
	    "$what: suexec ran hostscan.cgi as $user");
	unlike($log, qr/\] (?!uid:)/, "$what: suexec logged nothing but runs")
	    or diag($log);
	is(apache_stop($a), 0, "$what: Apache stops with status 0");

	$install->($ECHO);
	$port = free_port();
	$a = apache_start(site => $site->($port), port => $port,
	    modules => [qw(cgid suexec)], binds => \%binds,
	    main => "ScriptSock $T/$RUN-suexec-cgisock2\n");
	my $env = env_seen($a->{url});
	is($env->{'hostscan.uid'}, $uid, "$what: the program runs as $user");
	is($env->{HOSTSCAN_CONFIG}, '/var/www/alice/etc/hostscan.conf',
	    "$what: the wrapper names the configuration");
	httpoxy_ok($what, $env);
	apache_stop($a);
}

done_testing;
