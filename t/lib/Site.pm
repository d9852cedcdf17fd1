# SPDX-License-Identifier: ISC
package Site;

# A private nginx serving one of the shipped site files of nginx/ as
# shipped, with only the literal substitutions a test names (listen
# address, sockets, certificate paths).  scripts/nginx-site writes the
# prefix (main configuration, params file, temporary directories), then
# the named site file replaces the hostscan.conf it rendered.  Every
# substitution must occur in the shipped file, so a test cannot serve
# something other than what it says it serves.  Core Perl only.
#
#   my $web = Site::nginx(site => 'hostscan-tls.conf', port => $port,
#       subs => [ 'listen 443 ssl http2;' => "listen 127.0.0.1:$port ssl http2;",
#           ... ], workers => 2);
#   Site::reload($web);      # nginx -s reload; waits for new workers
#   HS::stop_nginx($web);

use strict;
use warnings;

use HS qw(run_cmd scratch_dir free_port wait_for child_pids);

my $serial = 0;

sub nginx {
	my (%o) = @_;
	my $src = HS::env_required('HOSTSCAN_SRCDIR');
	my $site = "$src/nginx/$o{site}";
	my $prefix = scratch_dir() . "/nginx-site-$$-" . ++$serial;
	my $port = $o{port} // free_port();
	my ($rc, $out, $err) = run_cmd(["$src/scripts/nginx-site", $prefix,
	    $port, '/nonexistent.sock', '--foreground', '--workers',
	    $o{workers} // 1, '--log-level', 'info']);
	die "Site: scripts/nginx-site failed ($rc): $err\n" if $rc != 0;
	my $text = HS::slurp($site);
	die "Site: $site is empty or missing\n" unless length $text;
	my @subs = @{$o{subs} // []};
	while (my ($from, $to) = splice(@subs, 0, 2)) {
		my $n = () = $text =~ /\Q$from\E/g;
		die "Site: '$from' does not occur in $site\n" unless $n;
		$text =~ s/\Q$from\E/$to/g;
	}
	open(my $fh, '>', "$prefix/hostscan.conf") or die "Site: $prefix: $!\n";
	print $fh $text;
	close $fh or die "Site: $prefix/hostscan.conf: $!\n";
	my $conf = "$prefix/nginx.conf";
	($rc, $out, $err) = run_cmd(['nginx', '-q', '-t', '-p', "$prefix/",
	    '-e', "$prefix/error.log", '-c', $conf]);
	die "Site: nginx rejects $site as rendered ($rc): $err\n" if $rc != 0;
	my $pid = HS::spawn_logged(['nginx', '-p', "$prefix/", '-e',
	    "$prefix/error.log", '-c', $conf], "$prefix/nginx.out");
	my $h = { pid => $pid, conf => $conf, prefix => $prefix, port => $port,
	    url => "http://127.0.0.1:$port" };
	unless (wait_for(sub { HS::tcp_connects($port) }, 15)) {
		HS::stop_nginx($h);
		die "Site: nginx did not come up on port $port:\n"
		    . HS::slurp("$prefix/nginx.out") . HS::slurp("$prefix/error.log");
	}
	return $h;
}

# `nginx -s reload`, then waits until none of the workers from before is
# left (they finish their requests and close their idle connections
# first).  Returns true when that happened within $timeout seconds.
sub reload {
	my ($h, $timeout) = @_;
	my %old = map { $_ => 1 } child_pids($h->{pid});
	my ($rc, $out, $err) = run_cmd(['nginx', '-p', "$h->{prefix}/", '-e',
	    "$h->{prefix}/error.log", '-c', $h->{conf}, '-s', 'reload']);
	die "Site: nginx -s reload failed ($rc): $err\n" if $rc != 0;
	return wait_for(sub {
		my @now = child_pids($h->{pid});
		return @now && !grep { $old{$_} } @now;
	}, $timeout // 20);
}

# The directives of a site file's server block, one a line, without
# comments, blank lines and the lines matching $drop: what two site files
# must share.
sub server_directives {
	my ($path, $drop) = @_;
	my $text = HS::slurp($path);
	$text = substr($text, index($text, "\nserver {"));
	my @l = grep { length && !/\A#/ && (!$drop || !/$drop/) }
	    map { s/\A\s+|\s+\z//gr } split /\n/, $text;
	return \@l;
}

1;
