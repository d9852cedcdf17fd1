#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The three ways hostscan.fcgi runs, each behind a real nginx: an
# inherited listening socket (spawn-fcgi), plain CGI (fcgiwrap, and the
# CGI environment directly), and its own --listen supervisor with
# workers that are restarted when they die, stop cleanly on SIGTERM and
# reload the keyring on SIGHUP.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT hosts_of_job child_pids sql_quote run_cmd scratch_dir wait_exit);
use Check qw(log_size log_since until_every_worker);
use Test::More;
use File::Copy ();
use JSON::PP ();
use Time::HiRes ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $RUN = "modes-$$-" . time;
my $tok = token(roles => 'Admin', sub => $RUN);

# GET Version, an authorised POST that lands in the database, and a 400.
sub serves_api {
	my ($what, $url) = @_;
	my $r = api(GET => '/api/v1/Version', url => $url);
	is($r->{status}, 200, "$what: GET /api/v1/Version is 200");
	ok(defined $r->{json} && !ref $r->{json} && length $r->{json},
	    "$what: Version is a JSON string");
	my @items = (host_item(dnsHostName => "a.$what.modes.test"),
	    host_item(dnsHostName => "b.$what.modes.test"));
	$r = api(POST => '/api/v1/HostScanJob', url => $url, token => $tok,
	    json => \@items);
	is($r->{status}, 200, "$what: authorised POST is 200")
	    or diag($r->{content});
	is(hosts_of_job(ref $r->{json} eq 'HASH' ? $r->{json}{id} : undef), 2,
	    "$what: the job and its 2 hosts are in the database");
	$r = api(POST => '/api/v1/HostScanJob', url => $url, token => $tok,
	    json => []);
	is($r->{status}, 400, "$what: an empty job is 400");
	like($r->{headers}{'content-type'} // '', qr{\Aapplication/problem\+json},
	    "$what: the 400 is problem+json");
}

# (a) Inherited listening socket: spawn-fcgi binds, the responder serves
# fd 0 with its own workers.
{
	my $h = start_responder(mode => 'spawn-fcgi', workers => 2);
	my $web = nginx_for_socket($h->{socket});
	ok(wait_for(sub { child_pids($h->{pid}) == 2 }, 5),
	    'spawn-fcgi: the responder forked 2 workers on the inherited socket');
	serves_api('spawn-fcgi', $web->{url});
	is(stop_responder($h), 0, 'spawn-fcgi: SIGTERM, exit status 0');
	stop_nginx($web);
}

# (b) CGI: nginx -> fcgiwrap -> hostscan.fcgi, one process per request.
{
	my $h = start_responder(mode => 'cgi');
	my $web = nginx_for_socket($h->{socket},
	    params_extra => $h->{params_extra});
	serves_api('fcgiwrap', $web->{url});
	is(stop_responder($h), 0, 'fcgiwrap: SIGTERM, exit status 0');
	stop_nginx($web);
}

# (b) CGI directly: the environment and stdin of a CGI server.
{
	my $body = $J->encode([host_item(dnsHostName => 'direct.cgi.modes.test')]);
	my %env = (
		GATEWAY_INTERFACE => 'CGI/1.1',
		SERVER_PROTOCOL => 'HTTP/1.1',
		SERVER_NAME => 'localhost',
		SERVER_PORT => '80',
		REQUEST_METHOD => 'POST',
		SCRIPT_NAME => '/cgi-bin/hostscan.cgi',
		PATH_INFO => '/api/v1/HostScanJob',
		REQUEST_URI => '/cgi-bin/hostscan.cgi/api/v1/HostScanJob',
		QUERY_STRING => '',
		CONTENT_TYPE => 'application/json',
		CONTENT_LENGTH => length($body),
		HTTP_AUTHORIZATION => "Bearer $tok",
		REMOTE_ADDR => '192.0.2.10',
		REMOTE_PORT => '40000',
	);
	my ($rc, $out, $err) = run_cmd([$ENV{HOSTSCAN_FCGI}], env => \%env,
	    stdin => $body);
	is($rc, 0, 'direct CGI: exit status 0') or diag($err);
	like($out, qr/\AStatus: 200\b/, 'direct CGI: "Status: 200" response')
	    or diag(substr($out, 0, 500));
	my ($head, $content) = split /\r?\n\r?\n/, $out, 2;
	like($head // '', qr{^Content-Type: application/json}mi,
	    'direct CGI: JSON content type');
	my $st = eval { $J->decode($content // '') };
	$st = {} unless ref $st eq 'HASH';
	is(hosts_of_job($st->{id}), 1, 'direct CGI: the job is in the database');
	is(psql('SELECT created_from_address FROM host_scan_job WHERE id = '
	    . sql_quote($st->{id} // '00000000-0000-0000-0000-000000000000')
	    . '::uuid'), '192.0.2.10', 'direct CGI: REMOTE_ADDR recorded');

	($rc, $out, $err) = run_cmd([$ENV{HOSTSCAN_FCGI}], env => {%env,
	    REQUEST_METHOD => 'GET', PATH_INFO => '/api/v1/Version',
	    REQUEST_URI => '/cgi-bin/hostscan.cgi/api/v1/Version',
	    CONTENT_TYPE => undef, CONTENT_LENGTH => undef,
	    HTTP_AUTHORIZATION => undef});
	is($rc, 0, 'direct CGI GET: exit status 0') or diag($err);
	like($out, qr/\AStatus: 200\b.*\r?\n\r?\n"[^"]+"\s*\z/s,
	    'direct CGI: GET Version answers a JSON string');
}

# (c) --listen with 3 workers: a killed worker is replaced, SIGTERM stops
# everything within the grace period with status 0.
{
	my $grace = 3;
	my $h = start_responder(workers => 3,
	    config => { shutdown_grace_seconds => $grace });
	my $web = nginx_for_socket($h->{socket});
	my @w;
	ok(wait_for(sub { @w = child_pids($h->{pid}); @w == 3 }, 5),
	    '--listen --workers 3: 3 worker processes')
	    or diag("workers: @w");
	my $victim = $w[1];
	kill 'KILL', $victim;
	my @now;
	ok(wait_for(sub {
		@now = child_pids($h->{pid});
		return @now == 3 && !grep { $_ == $victim } @now;
	}, 3), 'a worker killed with SIGKILL is replaced within 3 s')
	    or diag("before: @w; now: @now");
	# Until each of the three, the new one too, has served (by the pid
	# on the log line of each answer).
	my $i = 0;
	my $by = until_every_worker(workers => \@now, log => $h->{log},
	    send => sub {
		api(GET => ++$i % 2 ? '/api/v1/Version'
		    : '/api/v1/HostScanJob?limit=1', url => $web->{url},
		    token => $tok);
	    });
	is_deeply([sort { $a <=> $b } keys %$by], [sort { $a <=> $b } @now],
	    'each of the 3 workers served, the replacement included')
	    or diag explain { map { $_ => scalar @{$by->{$_}} } keys %$by };
	is(scalar(grep { $_->{status} != 200 } map { @$_ } values %$by), 0,
	    'every request after the restart succeeded');

	my @all = ($h->{pid}, child_pids($h->{pid}));
	my $t0 = Time::HiRes::time();
	kill 'TERM', $h->{pid};
	my $st = wait_exit($h->{pid}, $grace + HS::scaled(2));
	my $took = Time::HiRes::time() - $t0;
	is($st, 0, 'SIGTERM: the supervisor exits with status 0');
	cmp_ok($took, '<=', $grace + HS::scaled(1),
	    'SIGTERM: it exits within the grace period');
	ok(wait_for(sub { !grep { kill 0, $_ } @all }, 2),
	    'SIGTERM: no worker is left');
	stop_responder($h) unless defined $st;
	stop_nginx($web);
}

# (d) SIGHUP re-reads the keyring.  The key is swapped in place keeping the
# file's inode, size and mtime, which the unsignalled change detection
# looks at; so only the signal can make the new key known.
{
	my $dir = scratch_dir();
	my $ring = "$dir/$RUN.keyring";
	my $newkey = "$dir/$RUN.new.key";
	my $newring = "$dir/$RUN.new.keyring";
	File::Copy::copy($ENV{HOSTSCAN_KEYRING}, $ring) or die "copy: $!";
	my $mtime = time - 100;
	utime $mtime, $mtime, $ring;
	my $h = start_responder(workers => 2, config => { keyring => $ring });
	my $web = nginx_for_socket($h->{socket});

	my ($rc, $out, $err) = ctl(['keygen'], env => {
	    HOSTSCAN_SIGNING_KEY => $newkey, HOSTSCAN_KEYRING => $newring });
	is($rc, 0, 'keygen writes a second key') or diag($err);
	my ($newpub) = grep { /\Ak4\.public\./ } split /\n/, HS::slurp($newring);
	my ($rc2, $newtok, $err2) = ctl(['token', 'issue', '--role', 'App',
	    '--sub', "$RUN-hup"], env => { HOSTSCAN_SIGNING_KEY => $newkey });
	chomp $newtok;
	is($rc2, 0, 'a token signed with the new key') or diag($err2);

	my $get = sub {
		return api(GET => '/api/v1/HostScanJob?limit=1',
		    url => $web->{url}, token => $_[0])->{status};
	};
	my @w = child_pids($h->{pid});
	is(scalar @w, 2, 'SIGHUP: the responder runs 2 workers');
	# Requests until both workers answered; the statuses they gave.
	my $each = sub {
		my ($t) = @_;
		my $by = until_every_worker(workers => \@w, log => $h->{log},
		    send => sub { api(GET => '/api/v1/HostScanJob?limit=1',
		    url => $web->{url}, token => $t) });
		my @out;
		for my $p (sort { $a <=> $b } keys %$by) {
			my %st = map { $_->{status} => 1 } @{$by->{$p}};
			push @out, "$p:" . join(',', sort keys %st);
		}
		return join ' ', @out;
	};
	my $all = sub { join ' ', map { "$_:$_[0]" } sort { $a <=> $b } @w };
	is($get->($tok), 200, 'the old key works before the swap');
	open(my $fh, '+<', $ring) or die "$ring: $!";
	my @lines = <$fh>;
	my ($i) = grep { $lines[$_] =~ /\Ak4\.public\./ } 0 .. $#lines;
	chomp(my $old = $lines[$i]);
	is(length $newpub, length $old, 'PASERK public keys have one length');
	$lines[$i] = "$newpub\n";
	seek $fh, 0, 0;
	print $fh @lines;
	close $fh;
	utime $mtime, $mtime, $ring;
	Time::HiRes::sleep(2.5);
	is($each->($newtok), $all->(401),
	    'without a signal no worker notices the in-place swap');
	my $off = log_size($h->{log});
	kill 'HUP', $h->{pid};
	my %hup;
	ok(wait_for(sub {
		%hup = map { $_ => 1 } log_since($h->{log}, $off) =~
		    /^\S+ \S+ prog=\S+ pid=(\d+) event=keyring_loaded /mg;
		return keys %hup == 2;
	}, 3), 'after SIGHUP each worker logged that it re-read the keyring');
	is_deeply([sort { $a <=> $b } keys %hup], [sort { $a <=> $b } @w],
	    '... both workers, by pid');
	is($each->($newtok), $all->(200), 'after SIGHUP every worker accepts the new key');
	is($each->($tok), $all->(401), 'and every worker refuses the swapped-out key');

	# Appending a key (a rotation) and signalling: both keys work.
	open($fh, '>>', $ring) or die "$ring: $!";
	print $fh "$old\n";
	close $fh;
	kill 'HUP', $h->{pid};
	ok(wait_for(sub { $get->($tok) == 200 }, 3),
	    'after appending the old key again and SIGHUP it works');
	is($each->($tok), $all->(200), '... on every worker');
	is($each->($newtok), $all->(200), 'and the new key still works on every worker');
	is(stop_responder($h), 0, 'the responder stops with status 0');
	stop_nginx($web);
}

done_testing;
