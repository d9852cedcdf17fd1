#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# hostscand's command line and hostscan.conf are one set of rows: an
# option is checked with its key's bounds and message, and wins over the
# file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(run_cmd wait_for wait_exit scaled);
use SSHD;
use Test::More;

plan skip_all => 'integration services not running (run scripts/test)'
    if grep { !$ENV{$_} } qw(HOSTSCAN_CONFIG HOSTSCAN_TEST_DIR
    HOSTSCAN_BUILDDIR);

my $bin = ($ENV{HOSTSCAND} // '') ne '' ? $ENV{HOSTSCAND} :
    "$ENV{HOSTSCAN_BUILDDIR}/hostscand";
my $dir = HS::scratch_dir();
my $n = 0;

sub conf {
	my ($text) = @_;
	my $path = sprintf('%s/t12-%d-%d.conf', $dir, $$, ++$n);
	open(my $fh, '>', $path) or die "$path: $!\n";
	print $fh $text;
	close $fh or die "$path: $!\n";
	return $path;
}

# Out of bounds in the file, then on the command line: the same message
# after where it came from.
{
	my $f = conf("log_level = warn\nsched_workers = 0\n");
	my ($rc, $out, $err) = run_cmd([$bin, '--config', $f]);
	is($rc, 1, 'sched_workers = 0 in the file: exit 1');
	is($err, "hostscand: $f:2: sched_workers: value \"0\" is too small "
	    . "(allowed 1..1024)\n", '... naming the line, key and bounds');
	my $empty = conf("log_level = warn\n");
	($rc, $out, $err) = run_cmd([$bin, '--config', $empty, '--workers',
	    '0']);
	is($rc, 2, '--workers 0: exit 2');
	is($err, "hostscand: --workers: sched_workers: value \"0\" is too "
	    . "small (allowed 1..1024)\n", '... with the same message');
}

# Each option against its key's bounds.
for my $c (['--lease', 2, 'lease_seconds', 'too small', '3..3600'],
    ['--lease', 3601, 'lease_seconds', 'too large', '3..3600'],
    ['--host-timeout', 0, 'host_timeout', 'too small', '1..3600'],
    ['--step-timeout', 601, 'step_timeout', 'too large', '1..600'],
    ['--max-attempts', 101, 'max_attempts', 'too large', '1..100'],
    ['--db-connections', 65, 'sched_db_connections', 'too large', '1..64'],
    ['--grace', -1, 'shutdown_grace_seconds', 'too small', '0..3600'],
    ['--backoff', 301, 'retry_backoff_seconds', 'too large', '0..300'],
    ['--scan-max-bytes', 1048575, 'scan_max_bytes', 'too small',
    '1048576..4294967296'],
    ['--workers', 'many', 'sched_workers', 'invalid', '1..1024']) {
	my ($opt, $v, $key, $why, $range) = @$c;
	my ($rc, $out, $err) = run_cmd([$bin, '--config',
	    conf("log_level = warn\n"), $opt, $v]);
	is($rc, 2, "$opt $v: exit 2");
	is($err, "hostscand: $opt: $key: value \"$v\" is $why "
	    . "(allowed $range)\n", "... the message of $key");
}

# Within bounds, the options get as far as the database: the file lacks it.
{
	my ($rc, $out, $err) = run_cmd([$bin, '--config',
	    conf("log_level = warn\n"), '--grace', 0, '--lease', 3,
	    '--scan-max-bytes', 1048576]);
	is($rc, 1, 'options at their bounds are taken; no sched_database: '
	    . 'exit 1');
	like($err, qr/event=startup .*sched_database is not set/,
	    '... saying so');
}

# The command line wins over the file, key by key; the file over the
# defaults.
{
	SSHD::Scheduler::cancel_leftovers();
	my $f = "$dir/t12-$$.conf";
	HS::write_config_copy($f, { sched_workers => 5, lease_seconds => 7,
	    host_timeout => 40, max_attempts => 4, log_level => 'info' });
	my $log = "$dir/t12-hostscand-$$.log";
	my $pid = HS::spawn_logged([$bin, '--config', $f, '--instance', "t12-$$",
	    '--workers', 3, '--max-attempts', 2], $log);
	ok(wait_for(sub { HS::slurp($log) =~ /event=started/ }, 15),
	    'hostscand starts') or diag(HS::slurp($log));
	like(HS::slurp($log), qr/event=started instance=t12-$$ workers=3 lease_s=7 host_timeout_s=40 step_timeout_s=10 max_attempts=2 db_conns=3\b/,
	    'options over the file (workers, max_attempts), the file over the '
	    . 'defaults (lease, host timeout), defaults elsewhere (step); '
	    . 'connections at most the workers');
	kill 'TERM', $pid;
	my $st = wait_exit($pid, scaled(15));
	is($st, 0, 'SIGTERM: exit 0');
}

done_testing();
