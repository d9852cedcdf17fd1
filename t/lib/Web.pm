# SPDX-License-Identifier: ISC
package Web;

# What the Apache tests need beyond HS.pm: private Apache httpd 2.4
# instances (their own configuration, ServerRoot, logs and port under the
# run directory; never the system service), the shipped files rendered
# with only ports and paths changed, a test CA and server certificate
# made with openssl, and a raw HTTP/1.1 exchange that shows a truncated
# answer.  Core Perl only.

use strict;
use warnings;

use Exporter qw(import);
use HS ();
use IO::Socket::INET;
use Time::HiRes ();

our @EXPORT_OK = qw(render apache_start apache_stop make_ca http_raw mod);

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
	unless (HS::wait_for(sub { HS::tcp_connects($o{port}) }, 15)) {
		apache_stop($h);
		die "Web: apache did not come up on $o{port}:\n"
		    . HS::slurp("$prefix/apache.out")
		    . HS::slurp("$prefix/error.log");
	}
	return $h;
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

1;
