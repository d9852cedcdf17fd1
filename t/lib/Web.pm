package Web;

# The web servers of the deployment tests, beyond the nginx HS.pm starts:
# private Apache httpd 2.4 instances (their own configuration, ServerRoot,
# logs and port under the run directory; never the system service), the
# shipped nginx and Apache files rendered with only ports and paths
# changed, a test CA and server certificate made with openssl, and a load
# client that records every request with its outcome and times.
# Core Perl only (plus HTTP::Tiny's IO::Socket::SSL for https).

use strict;
use warnings;

use Exporter qw(import);
use HS ();
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(render apache_start apache_stop apache_signal make_ca
    load_start load_stop http_raw nginx_start nginx_stop nginx_signal
    mod);

my $MODDIR = '/usr/lib/apache2/modules';
my $serial = 0;

# The text of a shipped file with each literal of %$subst replaced; every
# literal must occur, so a renamed path in the file fails the test instead
# of testing something else.
sub render {
	my ($rel, $subst) = @_;
	my $src = HS::env_required('HOSTSCAN_SRCDIR') . "/$rel";
	my $text = HS::slurp($src);
	die "Web: $src is empty or missing\n" unless length $text;
	for my $from (sort { length $b <=> length $a } keys %$subst) {
		my $n = ($text =~ s/\Q$from\E/$subst->{$from}/g);
		die "Web: $src has no '$from' to substitute\n" unless $n;
	}
	return $text;
}

sub mod { return "LoadModule ${_[0]}_module $MODDIR/mod_$_[0].so\n" }

sub tcp_connects {
	my ($port) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $port, Proto => 'tcp', Timeout => 1);
	return 0 unless $s;
	close $s;
	return 1;
}

sub spew {
	my ($path, $text, $mode) = @_;
	open(my $fh, '>', $path) or die "Web: $path: $!\n";
	print $fh $text;
	close $fh or die "Web: $path: $!\n";
	chmod($mode // 0644, $path);
}

# A private Apache: site => the rendered site file (it has its own Listen),
# modules => [names], mpm => event|prefork, main => extra lines of the
# main configuration, port => the one the site listens on, binds =>
# { target => source } mounted in a private mount namespace that Apache
# and its children (CGI programs, suexec) see.  Returns a handle with
# url, pid, prefix, conf, port.
sub apache_start {
	my (%o) = @_;
	my $dir = HS::scratch_dir();
	my $prefix = "$dir/apache-$$-" . ++$serial;
	my $mpm = $o{mpm} // 'event';
	mkdir $prefix or die "Web: mkdir $prefix: $!\n";
	mkdir "$prefix/run";
	chmod 0755, $prefix, "$prefix/run";
	my (undef, undef, $uid, $gid) = getpwnam('www-data');
	die "Web: no user www-data\n" unless defined $uid;
	spew("$prefix/site.conf", $o{site});
	my %seen;
	my @mods = grep { !$seen{$_}++ } ("mpm_$mpm", qw(authz_core
	    authz_host mime alias headers setenvif env unique_id),
	    @{$o{modules} // []});
	my $conf = "$prefix/httpd.conf";
	spew($conf, join('', map { mod($_) } @mods) . <<"EOF" . ($o{main} // '')
ServerRoot "$prefix"
ServerName localhost
PidFile "$prefix/httpd.pid"
DefaultRuntimeDir "$prefix/run"
Mutex file:$prefix/run default
ErrorLog "$prefix/error.log"
LogLevel warn
LogFormat "%h \\"%r\\" %>s %b %D" hs
CustomLog "$prefix/access.log" hs
User www-data
Group www-data
TypesConfig /etc/mime.types
Timeout 60
KeepAliveTimeout 5
ServerTokens Prod
TraceEnable off
EOF
	    . "Include \"$prefix/site.conf\"\n");
	my @cmd = ('/usr/sbin/apache2', '-f', $conf, '-DFOREGROUND');
	if ($o{binds}) {
		my $sh = join(' && ', (map {
		    "mount --bind '$o{binds}{$_}' '$_'" } sort keys %{$o{binds}}),
		    'exec "$@"');
		@cmd = ('/usr/bin/unshare', '--mount', '--propagation',
		    'private', '/bin/sh', '-c', $sh, 'apache', @cmd);
	}
	my ($rc, $out, $err) = HS::run_cmd(['/usr/sbin/apache2', '-t', '-f',
	    $conf]);
	die "Web: apache2 -t rejects $conf:\n$out$err" if $rc != 0;
	my $pid = HS::spawn_logged(\@cmd, "$prefix/apache.out");
	my $h = { url => "http://127.0.0.1:$o{port}", pid => $pid,
	    prefix => $prefix, conf => $conf, port => $o{port},
	    error_log => "$prefix/error.log" };
	unless (HS::wait_for(sub { tcp_connects($o{port}) }, 15)) {
		apache_stop($h);
		die "Web: apache did not come up on $o{port}:\n"
		    . HS::slurp("$prefix/apache.out")
		    . HS::slurp("$prefix/error.log");
	}
	return $h;
}

# Every process of the instance: the parent and its children.
sub apache_pids {
	my ($h) = @_;
	return ($h->{pid}, HS::child_pids($h->{pid}));
}

# Sends a signal to the parent: TERM stops, USR1 is "apachectl -k
# graceful", WINCH "graceful-stop".
sub apache_signal {
	my ($h, $sig) = @_;
	return kill $sig, $h->{pid};
}

# Stops the instance; returns its wait status.
sub apache_stop {
	my ($h, %o) = @_;
	return undef unless $h && $h->{pid};
	kill 'TERM', $h->{pid};
	my $st = HS::wait_exit($h->{pid}, $o{timeout} // 15);
	unless (defined $st) {
		kill 'KILL', -$h->{pid}, $h->{pid};
		$st = HS::wait_exit($h->{pid}, 5);
	}
	$h->{pid} = 0;
	return $st;
}

# A private nginx running a shipped site file (rendered by the caller)
# beside a copy of the params file; main => extra lines of the http block.
sub nginx_start {
	my (%o) = @_;
	my $dir = HS::scratch_dir();
	my $prefix = "$dir/nginx-web-$$-" . ++$serial;
	mkdir $prefix or die "Web: mkdir $prefix: $!\n";
	chmod 0755, $prefix;
	my (undef, undef, $uid, $gid) = getpwnam('www-data');
	for my $d (qw(tmp tmp/body tmp/fastcgi tmp/proxy tmp/uwsgi tmp/scgi)) {
		mkdir "$prefix/$d";
		chown $uid, $gid, "$prefix/$d";
	}
	spew("$prefix/hostscan_fastcgi_params", HS::slurp(
	    HS::env_required('HOSTSCAN_SRCDIR') . '/nginx/hostscan_fastcgi_params'));
	spew("$prefix/site.conf", $o{site});
	my $conf = "$prefix/nginx.conf";
	spew($conf, <<"EOF");
user www-data;
worker_processes 2;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 1024; }
http {
	access_log $prefix/access.log;
	client_body_temp_path $prefix/tmp/body;
	fastcgi_temp_path $prefix/tmp/fastcgi;
	proxy_temp_path $prefix/tmp/proxy;
	uwsgi_temp_path $prefix/tmp/uwsgi;
	scgi_temp_path $prefix/tmp/scgi;
	include $prefix/site.conf;
}
EOF
	my ($rc, $out, $err) = HS::run_cmd(['nginx', '-t', '-q', '-p',
	    "$prefix/", '-e', "$prefix/error.log", '-c', $conf]);
	die "Web: nginx -t rejects $conf:\n$out$err" if $rc != 0;
	my $pid = HS::spawn_logged(['nginx', '-p', "$prefix/", '-e',
	    "$prefix/error.log", '-c', $conf], "$prefix/nginx.out");
	my $h = { pid => $pid, prefix => $prefix, conf => $conf,
	    port => $o{port}, error_log => "$prefix/error.log" };
	unless (HS::wait_for(sub { tcp_connects($o{port}) }, 15)) {
		nginx_stop($h);
		die "Web: nginx did not come up on $o{port}:\n"
		    . HS::slurp("$prefix/nginx.out")
		    . HS::slurp("$prefix/error.log");
	}
	return $h;
}

sub nginx_signal {
	my ($h, $sig) = @_;
	return kill $sig, $h->{pid};
}

sub nginx_stop {
	my ($h) = @_;
	return undef unless $h && $h->{pid};
	kill 'TERM', $h->{pid};
	my $st = HS::wait_exit($h->{pid}, 10);
	unless (defined $st) {
		kill 'KILL', -$h->{pid}, $h->{pid};
		$st = HS::wait_exit($h->{pid}, 5);
	}
	$h->{pid} = 0;
	return $st;
}

# A CA and a server certificate for localhost and 127.0.0.1 (EC P-256),
# made with openssl in $dir.  Returns { ca, cert, key } paths.
sub make_ca {
	my ($dir) = @_;
	mkdir $dir;
	my @steps = (
	    [qw(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256
		-nodes -days 2 -subj /CN=hostscan-test-CA),
		'-keyout', "$dir/ca.key", '-out', "$dir/ca.pem"],
	    [qw(openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
		-subj /CN=localhost), '-keyout', "$dir/server.key", '-out',
		"$dir/server.csr"],
	);
	for my $c (@steps) {
		my ($rc, $out, $err) = HS::run_cmd($c);
		die "Web: @$c[0..2]: $err\n" if $rc != 0;
	}
	spew("$dir/server.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
	    . "extendedKeyUsage=serverAuth\n");
	my ($rc, $out, $err) = HS::run_cmd([qw(openssl x509 -req -days 2),
	    '-in', "$dir/server.csr", '-CA', "$dir/ca.pem", '-CAkey',
	    "$dir/ca.key", '-CAcreateserial', '-extfile', "$dir/server.ext",
	    '-out', "$dir/server.pem"]);
	die "Web: openssl x509: $err\n" if $rc != 0;
	chmod 0600, "$dir/ca.key", "$dir/server.key";
	HS::note_secret_source("$dir/ca.key");
	HS::note_secret_source("$dir/server.key");
	return { ca => "$dir/ca.pem", cert => "$dir/server.pem",
	    key => "$dir/server.key" };
}

# One HTTP/1.1 exchange on a raw socket: the status, headers and body
# exactly as they came, and whether the message ended where its framing
# (Content-Length or the last chunk) says -- a truncated answer shows.
sub http_raw {
	my ($port, $req, %o) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $port, Proto => 'tcp', Timeout => 10)
	    or die "Web: connect $port: $!\n";
	binmode $s;
	local $SIG{PIPE} = 'IGNORE';
	my $off = 0;
	while ($off < length $req) {
		my $n = syswrite($s, $req, length($req) - $off, $off);
		last unless $n;
		$off += $n;
	}
	my $buf = '';
	my $end = Time::HiRes::time() + HS::scaled($o{timeout} // 30);
	my $rin = '';
	vec($rin, fileno($s), 1) = 1;
	while (Time::HiRes::time() < $end) {
		my $left = $end - Time::HiRes::time();
		last unless select(my $r = $rin, undef, undef, $left) > 0;
		my $n = sysread($s, $buf, 65536, length $buf);
		last unless $n;
	}
	close $s;
	my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
	my @lines = split /\r\n/, $head // '';
	my ($status) = (shift(@lines) // '') =~ m{\AHTTP/\d\.\d (\d{3})};
	my %h;
	for (@lines) {
		my ($k, $v) = /\A([^:]+):\s*(.*)\z/ or next;
		$h{lc $k} = $v;
	}
	$rest //= '';
	my ($body, $whole) = ('', 0);
	if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
		while ($rest =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
			my $len = hex $1;
			if ($len == 0) {
				$whole = $rest =~ /\A(?:[^\r\n]+\r\n)*\r\n/ ? 1 : 0;
				last;
			}
			last if length($rest) < $len + 2;
			$body .= substr($rest, 0, $len);
			substr($rest, 0, $len + 2) = '';
		}
	} elsif (defined $h{'content-length'}) {
		$body = $rest;
		$whole = length($rest) == $h{'content-length'} ? 1 : 0;
	}
	return { status => $status // 0, headers => \%h, content => $body,
	    whole => $whole, raw => $buf };
}

# A load client: $n processes each sending requests in a loop through
# HTTP::Tiny with keep-alive, each request written to $file as one line:
# client seq start end status method path key job retries.
# $next->($i, $seq) returns [method, path, %api_options] for each request.
# A request that got no answer at all (HTTP::Tiny's 599: the connection
# failed or was closed under it, as a web server closes an idle
# keep-alive connection) is sent again on a fresh connection, as HTTP
# clients do -- but only when that is safe: a GET, or a POST carrying an
# Idempotency-Key (the API answers a repeated key with the first job).
# retries counts those, so a test can report them apart.  Returns a
# handle for load_stop.
sub load_start {
	my (%o) = @_;
	my $file = $o{file};
	my @pids;
	for my $i (1 .. $o{clients}) {
		my $pid = fork // die "Web: fork: $!\n";
		if ($pid == 0) {
			my $stop = 0;
			$SIG{TERM} = sub { $stop = 1 };
			open(my $fh, '>>', $file) or POSIX::_exit(1);
			$fh->autoflush(1);
			my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 60,
			    agent => 'hostscan-load/1',
			    verify_SSL => $o{ca} ? 1 : 0,
			    SSL_options => $o{ca} ? { SSL_ca_file => $o{ca} } : {});
			my $J = JSON::PP->new->canonical;
			my $seq = 0;
			while (!$stop) {
				my ($method, $path, %a) = @{$o{next}->($i, ++$seq)};
				my %h = %{$a{headers} // {}};
				$h{Authorization} = "Bearer $a{token}" if $a{token};
				my %req = (headers => \%h);
				if ($a{json}) {
					$h{'Content-Type'} = 'application/json';
					$req{content} = $J->encode($a{json});
				}
				my $t0 = Time::HiRes::time();
				my $res = $ua->request($method, $o{url} . $path,
				    \%req);
				my $retries = 0;
				while ($res->{status} == 599 && $retries < 2 &&
				    ($method eq 'GET' ||
				    defined $h{'Idempotency-Key'})) {
					$retries++;
					$res = $ua->request($method,
					    $o{url} . $path, \%req);
				}
				my $t1 = Time::HiRes::time();
				my $job = '-';
				if ($res->{status} == 200 && $method eq 'POST' &&
				    ($res->{content} // '') =~
				    /"id":"([0-9a-f-]{36})"/) {
					$job = $1;
				}
				printf $fh "%d %d %.6f %.6f %d %s %s %s %s %d\n",
				    $i, $seq, $t0, $t1, $res->{status}, $method,
				    $path, $h{'Idempotency-Key'} // '-', $job,
				    $retries;
				Time::HiRes::sleep($o{pause}) if $o{pause};
			}
			close $fh;
			POSIX::_exit(0);
		}
		push @pids, $pid;
	}
	return { pids => \@pids, file => $file };
}

# Stops the clients (each finishes its request in progress) and returns
# the records: [{client, seq, start, end, status, method, path, key, job,
# retries}].
sub load_stop {
	my ($l) = @_;
	kill 'TERM', @{$l->{pids}};
	for my $pid (@{$l->{pids}}) {
		my $end = Time::HiRes::time() + HS::scaled(90);
		while (waitpid($pid, POSIX::WNOHANG()) == 0) {
			if (Time::HiRes::time() > $end) {
				kill 'KILL', $pid;
				waitpid($pid, 0);
				last;
			}
			Time::HiRes::sleep(0.05);
		}
	}
	my @r;
	open(my $fh, '<', $l->{file}) or die "Web: $l->{file}: $!\n";
	while (my $line = <$fh>) {
		my @f = split ' ', $line;
		next unless @f == 10;
		push @r, { client => $f[0], seq => $f[1], start => $f[2],
		    end => $f[3], status => $f[4], method => $f[5],
		    path => $f[6], key => $f[7], job => $f[8],
		    retries => $f[9] };
	}
	close $fh;
	return \@r;
}

1;
