# SPDX-License-Identifier: ISC
package Load;

# A load client for the tests that restart things under load: N
# connections, each a forked process with one HTTP/1.1 keep-alive
# connection at a time, cycling through a list of requests for a duration
# or until stop().  Every request is recorded (start and end on
# CLOCK_MONOTONIC, which all processes share, status, for a 2xx POST the
# job id it got, attempts, error) in a file per connection, read back by
# stop() or finish().
#
# A request is retried once, on a new connection, only when it went out on
# a kept-alive connection that the server had closed while idle: nothing
# of the response arrived and the connection ended (EOF, ECONNRESET,
# EPIPE).  That is what HTTP clients do (the server closed the connection
# before it read the request, so the request never happened).  A closure
# seen before sending (the FIN already arrived) just opens a new
# connection.  Both are counted apart from the requests, and every attempt
# carries its own User-Agent ("hs-load/1 TAG-cC-rN-aA"), so a test can
# show in the server's access log that no retried attempt was ever read.
#
#   my $l = Load->start(url => 'http://127.0.0.1:PORT', connections => 4,
#       duration => 30,               # seconds; without it, until stop()
#       count => 100,                 # or this many requests a connection
#       requests => [ { method => 'POST', path => '/api/v1/HostScanJob',
#           headers => { Authorization => "Bearer $t",
#               'Content-Type' => 'application/json' }, body => $json },
#           { method => 'GET', path => '/api/v1/HostScanJob/{job}' } ]);
#   ...                              # restart things
#   my $res = $l->stop;              # or $l->finish after a duration
#   $res->{records}   [ { conn, seq, method, path, start, end, status,
#                        job, attempts, error, agent }, ... ] by start
#   $res->{total}, $res->{non2xx} (records), $res->{retries},
#   $res->{reconnects}, $res->{retried_agents} [ agents of retried
#   attempts ], $res->{rate} (requests per second)
#
# {job} in a path is the job id of this connection's last 2xx POST; a
# request that needs one before there is one is skipped.  Core Perl only.

use strict;
use warnings;

use Errno qw(EINTR EAGAIN EPIPE ECONNRESET);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my $MAX_HEAD = 65536;
my $MAX_BODY = 8 * 1024 * 1024;
my $serial = 0;

sub now { return clock_gettime(CLOCK_MONOTONIC) }

sub start {
	my ($class, %o) = @_;
	my $url = $o{url} // die "Load: url needed\n";
	my ($host, $port) = $url =~ m{\Ahttp://([^/:]+):(\d+)/?\z}
	    or die "Load: url must be http://HOST:PORT\n";
	my $dir = $o{dir} // $ENV{HOSTSCAN_TEST_DIR}
	    // die "Load: dir needed\n";
	my $tag = $o{tag} // "load-$$-" . ++$serial;
	my $self = bless {
		host => $host, port => $port, tag => $tag,
		conns => $o{connections} // 4,
		duration => $o{duration},
		count => $o{count},
		timeout => $o{timeout} // 30,
		requests => $o{requests} // die("Load: requests needed\n"),
		stopfile => "$dir/$tag.stop",
		files => [], pids => [], started => now(),
	}, $class;
	unlink $self->{stopfile};
	for my $c (1 .. $self->{conns}) {
		my $file = "$dir/$tag-c$c.tsv";
		unlink $file;
		push @{$self->{files}}, $file;
		my $pid = fork // die "Load: fork: $!\n";
		if ($pid == 0) {
			my $ok = eval { $self->run_conn($c, $file); 1 };
			print STDERR "Load: connection $c: $@" unless $ok;
			# Not the test's END blocks: they belong to the parent.
			POSIX::_exit($ok ? 0 : 1);
		}
		push @{$self->{pids}}, $pid;
	}
	return $self;
}

# Tells the connections to stop after their current request; waits.
sub stop {
	my ($self) = @_;
	open(my $fh, '>', $self->{stopfile}) or die "Load: $self->{stopfile}: $!\n";
	close $fh;
	return $self->finish;
}

# Waits for the connections to end (after a duration, or stop()).
sub finish {
	my ($self) = @_;
	my $bad = 0;
	for my $pid (@{$self->{pids}}) {
		waitpid($pid, 0);
		$bad++ if $? != 0;
	}
	$self->{pids} = [];
	die "Load: $bad connection process(es) failed\n" if $bad;
	return $self->results;
}

sub results {
	my ($self) = @_;
	my (@recs, $retries, $reconnects, @agents);
	$retries = $reconnects = 0;
	for my $file (@{$self->{files}}) {
		open(my $fh, '<', $file) or die "Load: $file: $!\n";
		while (my $l = <$fh>) {
			chomp $l;
			my @f = split /\t/, $l, -1;
			if ($f[0] eq 'reconnect') {
				$reconnects++;
				next;
			}
			if ($f[0] eq 'retried') {
				$retries++;
				push @agents, $f[1];
				next;
			}
			my %r;
			@r{qw(conn seq method path start end status job attempts
			    agent error)} = @f;
			$r{job} = undef unless length $r{job};
			push @recs, \%r;
		}
		close $fh;
	}
	@recs = sort { $a->{start} <=> $b->{start} } @recs;
	my ($first, $last) = (@recs ? $recs[0]{start} : 0, 0);
	for (@recs) { $last = $_->{end} if $_->{end} > $last }
	return {
		records => \@recs,
		total => scalar @recs,
		non2xx => [grep { $_->{status} !~ /\A2\d\d\z/ } @recs],
		retries => $retries,
		reconnects => $reconnects,
		retried_agents => \@agents,
		rate => $last > $first ? @recs / ($last - $first) : 0,
	};
}

# One connection's loop, in its own process.
sub run_conn {
	my ($self, $c, $file) = @_;
	open(my $out, '>', $file) or die "$file: $!\n";
	$out->autoflush(1);
	my $end = defined $self->{duration} ? now() + $self->{duration} : undef;
	my ($sock, $job);
	my $seq = 0;
	my $i = 0;
	my @reqs = @{$self->{requests}};
	while (!-e $self->{stopfile} && (!defined $end || now() < $end)
	    && (!defined $self->{count} || $seq < $self->{count})) {
		my $q = $reqs[$i++ % @reqs];
		my $path = $q->{path};
		if ($path =~ /\{job\}/) {
			next unless defined $job;
			$path =~ s/\{job\}/$job/g;
		}
		$seq++;
		my %rec = (method => $q->{method}, path => $path,
		    start => now(), status => 0, job => '', error => '');
		my $attempt = 0;
		for (;;) {
			$attempt++;
			my $agent = "hs-load/1 $self->{tag}-c$c-r$seq-a$attempt";
			$rec{agent} = $agent;
			my $reused = defined $sock;
			if ($reused && IO::Select->new($sock)->can_read(0)) {
				# Closed while idle (or data nobody asked for).
				print $out "reconnect\t$agent\n";
				close $sock;
				undef $sock;
				$reused = 0;
			}
			unless ($sock) {
				$sock = IO::Socket::INET->new(PeerAddr => $self->{host},
				    PeerPort => $self->{port}, Proto => 'tcp',
				    Timeout => $self->{timeout});
				unless ($sock) {
					$rec{error} = "connect: $!";
					last;
				}
			}
			my $r = $self->exchange($sock, $q, $path, $agent);
			if ($r->{idle_closed} && $reused && $attempt == 1) {
				print $out "retried\t$agent\n";
				close $sock;
				undef $sock;
				next;
			}
			if ($r->{error} || $r->{idle_closed}) {
				$rec{error} = $r->{error}
				    // 'closed before any byte of a response';
				close $sock;
				undef $sock;
				last;
			}
			$rec{status} = $r->{status};
			if ($r->{close}) {
				close $sock;
				undef $sock;
			}
			if ($q->{method} eq 'POST' && $r->{status} =~ /\A2/) {
				my $j = eval { JSON::PP->new->utf8->decode($r->{body}) };
				$rec{job} = $job = $j->{id}
				    if ref $j eq 'HASH' && defined $j->{id};
			}
			last;
		}
		$rec{end} = now();
		$rec{attempts} = $attempt;
		$rec{error} =~ s/[\t\n]/ /g;
		print $out join("\t", $c, $seq, @rec{qw(method path start end
		    status job attempts agent error)}), "\n";
	}
	close $sock if $sock;
	close $out or die "$file: $!\n";
}

# Sends one request and reads its response.  Returns { status, body,
# close } or { error } or { idle_closed => 1 } (the connection ended
# before any byte of a response).
sub exchange {
	my ($self, $sock, $q, $path, $agent) = @_;
	my %h = (%{$q->{headers} // {}}, Host => "$self->{host}:$self->{port}",
	    'User-Agent' => $agent);
	my $body = $q->{body} // '';
	$h{'Content-Length'} = length $body
	    if length $body || $q->{method} eq 'POST';
	my $msg = "$q->{method} $path HTTP/1.1\r\n"
	    . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n" . $body;
	my $deadline = now() + $self->{timeout};
	local $SIG{PIPE} = 'IGNORE';
	while (length $msg) {
		my $n = syswrite($sock, $msg);
		if (!defined $n) {
			next if $! == EINTR;
			return { idle_closed => 1 } if $! == EPIPE || $! == ECONNRESET;
			return { error => "write: $!" };
		}
		substr($msg, 0, $n, '');
	}
	my $buf = '';
	my $sel = IO::Select->new($sock);
	my $read = sub {
		my $left = $deadline - now();
		return "timeout" if $left <= 0 || !$sel->can_read($left);
		my $n = sysread($sock, $buf, 65536, length $buf);
		return undef if $n;
		return 'eof' if defined $n;
		return undef if $! == EINTR || $! == EAGAIN;
		return "read: $!";
	};
	my $at;
	until (($at = index($buf, "\r\n\r\n")) >= 0) {
		return { error => 'response head too long' } if length $buf > $MAX_HEAD;
		my $e = $read->();
		next unless defined $e;
		return { idle_closed => 1 } if !length $buf
		    && ($e eq 'eof' || $e =~ /reset/i);
		return { error => "$e after " . length($buf) . ' bytes' };
	}
	my $head = substr($buf, 0, $at);
	substr($buf, 0, $at + 4, '');
	my ($ver, $status) = $head =~ m{\AHTTP/(1\.[01]) (\d{3})}
	    or return { error => 'bad status line' };
	my %rh;
	for my $l (split /\r\n/, $head) {
		$rh{lc $1} = $2 if $l =~ /\A([^:]+):\s*(.*?)\s*\z/;
	}
	my $close = $ver eq '1.0' || lc($rh{connection} // '') eq 'close';
	my $out = '';
	if ($q->{method} eq 'HEAD' || $status =~ /\A(?:1..|204|304)\z/) {
	} elsif (lc($rh{'transfer-encoding'} // '') eq 'chunked') {
		for (;;) {
			my $e;
			until (($at = index($buf, "\r\n")) >= 0) {
				$e = $read->() and return { error => "chunk: $e" };
			}
			my $size = hex(substr($buf, 0, $at));
			return { error => 'body too long' } if length($out) + $size > $MAX_BODY;
			while (length $buf < $at + 2 + $size + 2) {
				$e = $read->() and return { error => "chunk: $e" };
			}
			$out .= substr($buf, $at + 2, $size);
			substr($buf, 0, $at + 2 + $size + 2, '');
			last if $size == 0;
		}
	} elsif (defined $rh{'content-length'}) {
		my $len = $rh{'content-length'};
		return { error => 'bad content-length' }
		    if $len !~ /\A\d+\z/ || $len > $MAX_BODY;
		my $e;
		while (length $buf < $len) {
			$e = $read->() and return { error => "body: $e" };
		}
		$out = substr($buf, 0, $len);
	} else {
		for (;;) {
			my $e = $read->();
			last if defined $e && $e eq 'eof';
			return { error => "body: $e" } if defined $e;
			return { error => 'body too long' } if length $buf > $MAX_BODY;
		}
		$out = $buf;
		$close = 1;
	}
	return { status => $status, body => $out, close => $close };
}

1;
