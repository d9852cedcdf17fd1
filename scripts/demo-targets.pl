#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The demo SSH targets of scripts/up: two OpenSSH sshd on loopback
# (t/lib/SSHD.pm) and an address where nothing listens, kept running until
# SIGTERM.  scripts/stack.sh demo_targets_start runs it as
#   perl -It/lib scripts/demo-targets.pl DIR OUT
# DIR/keys keeps the keys between runs; OUT gets the addresses (shell
# syntax, see demo_targets_start).
use strict;
use warnings;
use File::Copy ();
use SSHD ();

my ($dir, $out) = @ARGV;
my $keys = "$dir/keys";
my @live;
my $stop = sub { $_->stop for @live; @live = (); exit 0 };

sub rand_hex {
	open(my $fh, '<', '/dev/urandom') or die "urandom: $!\n";
	read($fh, my $b, 24) == 24 or die "urandom: short read\n";
	return unpack('H*', $b);
}

# The persisted file when there is one, else persist the new one.
sub keep {
	my ($from, $to) = @_;
	for my $ext ('', '.pub') {
		if (-s "$to$ext") {
			File::Copy::copy("$to$ext", "$from$ext")
			    or die "copy $to$ext: $!\n";
		} else {
			File::Copy::copy("$from$ext", "$to$ext")
			    or die "copy $from$ext: $!\n";
		}
	}
	chmod 0600, $from, $to;
}

sub target {
	my ($name, $addr) = @_;
	my $t = SSHD->new(dir => $dir, addr => $addr, password => rand_hex(),
	    log_level => 'INFO',
	    os_release => { NAME => 'HostScan Demo Linux', VERSION_ID => '1.0',
		PRETTY_NAME => "HostScan Demo Linux 1.0 ($name)",
		ID => 'hsdemo' });
	my $d = $t->dir;
	keep("$d/keys/host_ed25519", "$keys/host_$name");
	keep("$d/client_key", "$keys/client_key");
	# Key login for the demo user only; it may read its private
	# shadow (dates only are inventoried) for a complete inventory.
	unlink "$d/authorized_keys/root";
	SSHD::spew("$d/authorized_keys/hsscan",
	    SSHD::slurp("$keys/client_key.pub"), 0644);
	chown 0, 4242, "$d/etc/shadow";
	return $t;
}

$SIG{TERM} = $SIG{INT} = $SIG{HUP} = $stop;
my $a = target('a', '127.0.0.61');
my $b = target('b', '127.0.0.62');
my $c_addr = '127.0.0.63';
my $c_port = SSHD::free_port($c_addr);
for my $t ($a, $b) {
	push @live, $t;
	$t->start;
}
open(my $fh, '>', "$out.tmp") or die "$out: $!\n";
printf $fh "A_ADDR=%s\nA_PORT=%d\nA_FP=%s\nB_ADDR=%s\nB_PORT=%d\n"
    . "C_ADDR=%s\nC_PORT=%d\nCLIENT_KEY=%s\n", $a->addr, $a->port,
    $a->fingerprint, $b->addr, $b->port, $c_addr, $c_port,
    "$keys/client_key";
close $fh;
rename "$out.tmp", $out or die "$out: $!\n";
print "demo targets: A $a->{addr}:$a->{port} B $b->{addr}:$b->{port}"
    . " C $c_addr:$c_port (refused)\n";
while (1) {
	sleep 1;
	for my $t (@live) {
		next if kill 0, $t->{pid};
		warn "demo target $t->{addr}:$t->{port} exited\n";
		$stop->();
	}
}
