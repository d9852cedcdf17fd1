#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# t/lib/Load.pm, the load client of the restart tests, against a small
# HTTP server of this test that closes kept-alive connections at exactly
# the moments no real server can be made to hit on purpose: a request is
# retried (once, on a new connection, counted apart) only when a
# kept-alive connection ended before any byte of the response; never on
# a new connection, never after part of a response.  Also: a POST's job
# id feeds {job} in the next path.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Load;
use Test::More;
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();

my $dir = File::Temp::tempdir(CLEANUP => 1);
my @servers;

# A server whose connection i (from 1) treats its requests as $plan->[i-1]
# says, one step a request, 'ok' for the ones past the end:
#   ok      read it, answer 200 (a POST: {"id":"job-I-N"}), keep alive
#   close   read it, answer 200 with keep-alive, then close at once
#   unread  wait for its first bytes, then close without reading (RST)
#   silent  read it, close without a byte of response
#   short   read it, send the head and 3 of 10 body bytes, close
# Every request it reads is logged: "conn method path user-agent".
sub server {
	my ($plan) = @_;
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 16, ReuseAddr => 1) or die "listen: $!\n";
	my $log = "$dir/server-" . (@servers + 1) . '.log';
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open(my $out, '>', $log) or POSIX::_exit(1);
		$out->autoflush(1);
		my $conn = 0;
		while (my $c = $l->accept) {
			my @steps = @{$plan->[$conn++] // []};
			serve_conn($c, $conn, \@steps, $out);
		}
		POSIX::_exit(0);
	}
	my $port = $l->sockport;
	close $l;
	push @servers, $pid;
	return ($port, $log);
}

sub serve_conn {
	my ($c, $conn, $steps, $out) = @_;
	my ($buf, $n) = ('', 0);
	for (;;) {
		my $step = shift(@$steps) // 'ok';
		$n++;
		if ($step eq 'unread') {
			IO::Select->new($c)->can_read(10);
			Time::HiRes::sleep(0.05);
			close $c;
			return;
		}
		my $at;
		until (($at = index($buf, "\r\n\r\n")) >= 0) {
			my $r = sysread($c, $buf, 65536, length $buf);
			return close $c unless $r;
		}
		my $head = substr($buf, 0, $at + 4, '');
		my ($len) = $head =~ /^Content-Length: (\d+)\r$/mi;
		while (length $buf < ($len // 0)) {
			my $r = sysread($c, $buf, 65536, length $buf);
			return close $c unless $r;
		}
		substr($buf, 0, $len // 0, '');
		my ($m, $p) = $head =~ /\A(\S+) (\S+)/;
		my ($ua) = $head =~ /^User-Agent: (.*)\r$/mi;
		print $out "$conn $m $p $ua\n";
		if ($step eq 'silent') {
			close $c;
			return;
		}
		if ($step eq 'short') {
			syswrite($c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
			close $c;
			return;
		}
		my $body = $m eq 'POST' ? qq({"id":"job-$conn-$n"}) : '{}';
		syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
		if ($step eq 'close') {
			close $c;
			return;
		}
	}
}

END {
	local $?;
	for my $pid (@servers) {
		kill 'TERM', $pid;
		waitpid($pid, 0);
	}
}

sub run_load {
	my ($port, $count, @reqs) = @_;
	return Load->start(url => "http://127.0.0.1:$port", connections => 1,
	    count => $count, dir => $dir, timeout => 10, tag => 't64',
	    requests => \@reqs)->finish;
}

sub read_log { open(my $f, '<', $_[0]) or return ''; local $/; return <$f> }

my @post_get = ({ method => 'POST', path => '/jobs', body => '[]' },
    { method => 'GET', path => '/jobs/{job}' });

# Closed after the request arrived, unread: retried once, and the server
# never read the first attempt.
{
	my ($port, $log) = server([['ok', 'unread']]);
	my $res = run_load($port, 3, @post_get);
	my @r = @{$res->{records}};
	is(scalar @r, 3, 'unread close: 3 requests');
	is_deeply([map { $_->{status} } @r], [200, 200, 200], 'unread close: all 200');
	is($r[0]{job}, 'job-1-1', "a POST's job id is recorded");
	is($r[1]{path}, '/jobs/job-1-1', '... and is the {job} of the next path');
	is($r[1]{attempts}, 2, 'the request on the connection closed unread took 2 attempts');
	is($res->{retries}, 1, 'one retry counted');
	is($res->{reconnects}, 0, 'no reconnect before sending (the close came after)');
	is_deeply($res->{retried_agents}, ['hs-load/1 t64-c1-r2-a1'],
	    'the retried attempt is named');
	my $seen = read_log($log);
	unlike($seen, qr/t64-c1-r2-a1/, 'the server never read the retried attempt');
	like($seen, qr{^2 GET /jobs/job-1-1 hs-load/1 t64-c1-r2-a2$}m,
	    'the retry went on a new connection');
}

# A new connection closed without a response: an error, no retry.
{
	my ($port, $log) = server([['silent']]);
	my $res = run_load($port, 2, { method => 'GET', path => '/x' });
	my @r = @{$res->{records}};
	is_deeply([map { $_->{status} } @r], [0, 200],
	    'closed without response on a new connection: status 0, then 200');
	like($r[0]{error}, qr/closed before any byte of a response/, '... with the reason');
	is($r[0]{attempts}, 1, '... not retried');
	is($res->{retries}, 0, 'no retry counted');
	is(scalar @{$res->{non2xx}}, 1, 'one failed request');
}

# Part of a response, then the close, on a kept-alive connection: an
# error, no retry (the server had read the request).
{
	my ($port, $log) = server([['ok', 'short']]);
	my $res = run_load($port, 3, { method => 'GET', path => '/x' });
	my @r = @{$res->{records}};
	is_deeply([map { $_->{status} } @r], [200, 0, 200],
	    'closed in the middle of a body: status 0 for that request only');
	like($r[1]{error}, qr/\Abody: eof/, '... with the reason');
	is($r[1]{attempts}, 1, '... not retried');
	is($res->{retries}, 0, 'no retry counted');
}

# Closed right after a response, while idle: the next request goes on a
# new connection (found closed before sending, or retried if the close
# crossed it), and succeeds.
{
	my ($port, $log) = server([['close']]);
	my $res = run_load($port, 2, { method => 'GET', path => '/x' });
	is_deeply([map { $_->{status} } @{$res->{records}}], [200, 200],
	    'closed while idle: both requests 200');
	is($res->{reconnects} + $res->{retries}, 1,
	    'one new connection for it, counted apart');
	like(read_log($log), qr{^2 GET /x hs-load/1 t64-c1-r2-a\d$}m,
	    'the second request went on connection 2');
}

done_testing();
