#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A failover of a real HA pair (Patroni with etcd, two PostgreSQL nodes,
# synchronous replication) under load: the responder and the scheduler,
# given both nodes in a multi-host conninfo, find the new primary by
# themselves; no POST answered 200 is lost, every other answer meanwhile
# is a 503 with Retry-After, a retry with the same Idempotency-Key never
# makes a second job, and no host scan is lost, left Running or completed
# twice.  The short version of bench/failover (t/lib/Failover.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS ();
use Failover;
use Test::More;

HS::need_services();
my $dir = HS::scratch_dir() . "/failover-$$";
mkdir $dir or die "$dir: $!";
chmod 0755, $dir;

my $r = Failover::run(dir => $dir, loaders => 3, before => 4, after => 4,
    say => sub { diag(@_) });
for my $row (@{$r->{rows}}) {
	my ($what, $value, $target, $ok) = @$row;
	if (defined $ok) {
		ok($ok, "$what: $value (target $target)");
	} else {
		diag("$what: $value");
	}
}
diag("not 200 or 503: @{$r->{other_list}}") if @{$r->{other_list}};
diag("SystemError: $_") for @{$r->{system_error_list}};
cmp_ok($r->{ok}, '>=', 20, 'the load had POSTs answered 200');
cmp_ok($r->{r503}, '>', 0, 'the load saw the outage');
done_testing();
