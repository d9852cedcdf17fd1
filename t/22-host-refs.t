# SPDX-License-Identifier: ISC
# A queued host's job, credential and platform are checked once per
# statement (sql/014), not by foreign keys: what the keys guaranteed
# still holds.  A host row cannot name a job, credential or platform that
# does not exist, nor change the ones it names; a credential or platform
# a host names cannot be deleted; deleting a job deletes its hosts; and
# an INSERT and a DELETE that race are serialised by the INSERT's lock
# on what it names, whichever comes first.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use HS;

need_services();

my $run = "$$-" . int(time);
my $cred = credential(name => "t22-cred-$run", username => 'scanner');
my $plat = psql("SELECT id FROM platform WHERE name = 'Linux'");
my $job = psql("INSERT INTO host_scan_job (created_by) VALUES ('t22-$run') "
    . "RETURNING id");
my $ord = 0;

# One statement as psql runs it: (exit status, stderr).
sub try_sql {
	my ($sql) = @_;
	my ($rc, $out, $err) = HS::run_cmd(['psql', '-XAtq', '-v',
	    'ON_ERROR_STOP=1', '-c', $sql]);
	return ($rc, $err);
}

sub insert_sql {
	my (%o) = @_;
	my $n = $o{n} // 1;
	my $c = $o{cred} // $cred;
	my $p = exists $o{plat} ? $o{plat} : $plat;
	my $j = $o{job} // $job;
	my $first = $ord;
	$ord += $n;
	return "INSERT INTO host_scan_host (job_id, ord, dns_host_name, "
	    . "credential_id, platform_id, ssh_port) SELECT '$j', o, "
	    . "'h' || o || '.t22.example.test', '$c', "
	    . (defined $p ? "'$p'" : 'NULL') . ", 22 "
	    . "FROM generate_series($first, $first + $n - 1) AS o";
}

my $NOCRED = '00000000-0000-4000-8000-000000000022';

# ---- what an INSERT may name ----
my ($rc, $err) = try_sql(insert_sql(n => 500));
is($rc, 0, '500 hosts naming what exists: inserted') or diag $err;
($rc, $err) = try_sql(insert_sql(n => 3, plat => undef));
is($rc, 0, 'hosts without a platform: inserted') or diag $err;
($rc, $err) = try_sql(insert_sql(n => 2, cred => $NOCRED));
isnt($rc, 0, 'a host naming a credential that does not exist: refused');
like($err, qr/names a credential that does not exist/,
    'the error says which reference is missing');
($rc, $err) = try_sql(insert_sql(n => 2, plat => $NOCRED));
like($err, qr/names a platform that does not exist/,
    'a platform that does not exist: refused');
($rc, $err) = try_sql(insert_sql(n => 2, job => $NOCRED));
like($err, qr/names a job that does not exist/,
    'a job that does not exist: refused');
is(psql("SELECT count(*) FROM host_scan_host WHERE job_id = '$job'"), 503,
    'a refused INSERT left none of its rows');
($rc, $err) = try_sql("WITH a AS (" . insert_sql(n => 1) . " RETURNING 1) "
    . insert_sql(n => 1, cred => $NOCRED));
like($err, qr/names a credential that does not exist/,
    'one missing reference among good ones refuses the statement');

# ---- a host's references do not change ----
my $other = credential(name => "t22-other-$run", username => 'scanner');
($rc, $err) = try_sql("UPDATE host_scan_host SET credential_id = '$other' "
    . "WHERE job_id = '$job' AND ord = 0");
like($err, qr/job, credential and platform do not change/,
    'a host row\'s credential cannot be changed');
($rc, $err) = try_sql("UPDATE host_scan_host SET platform_id = NULL "
    . "WHERE job_id = '$job' AND ord = 0");
like($err, qr/do not change/, 'nor its platform');
($rc, $err) = try_sql("UPDATE host_scan_host SET credential_id = "
    . "credential_id, state = state WHERE job_id = '$job' AND ord = 0");
is($rc, 0, 'an UPDATE naming the column without changing it passes')
    or diag $err;

# ---- what a host names cannot be deleted ----
($rc, $err) = try_sql("DELETE FROM credential WHERE id = '$cred'");
like($err, qr/credential \Q$cred\E is used by queued or past scans/,
    'a credential a host names cannot be deleted');
my $plat2 = psql("INSERT INTO platform (name) VALUES ('t22-plat-$run') "
    . "RETURNING id");
($rc, $err) = try_sql(insert_sql(n => 1, plat => $plat2));
is($rc, 0, 'a host naming a new platform') or diag $err;
($rc, $err) = try_sql("DELETE FROM platform WHERE id = '$plat2'");
like($err, qr/platform \Q$plat2\E is used by queued or past scans/,
    'a platform a host names cannot be deleted');
($rc, $err) = try_sql("UPDATE credential SET id = gen_random_uuid() "
    . "WHERE id = '$cred'");
like($err, qr/is used by queued or past scans/,
    'nor can its id change');
($rc, $err) = try_sql("DELETE FROM credential WHERE id = '$other'");
is($rc, 0, 'a credential no host names can be deleted') or diag $err;

# ---- deleting a job deletes its hosts ----
my $job2 = psql("INSERT INTO host_scan_job (created_by) VALUES "
    . "('t22-$run') RETURNING id");
($rc, $err) = try_sql(insert_sql(n => 50, job => $job2));
is($rc, 0, 'a second job with 50 hosts') or diag $err;
($rc, $err) = try_sql("DELETE FROM host_scan_job WHERE id = '$job2'");
is($rc, 0, 'the job is deleted') or diag $err;
is(psql("SELECT count(*) FROM host_scan_host WHERE job_id = '$job2'"), 0,
    'and its hosts with it');
is(psql("SELECT count(*) FROM host_scan_host WHERE job_id = '$job'"), 504,
    'the other job keeps its hosts');

# ---- an INSERT and a DELETE that race ----
# The first holds its transaction open for a while; the second starts
# meanwhile and must wait for it, then see what it did.
sub race {
	my ($first, $second) = @_;
	my $errf = "$ENV{HOSTSCAN_TEST_DIR}/t22-race-$$-" . int(rand(1e9));
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>', $errf) or die;
		open(STDOUT, '>', '/dev/null') or die;
		exec('psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', 'BEGIN',
		    '-c', $first, '-c', 'SELECT pg_sleep(1.5)', '-c', 'COMMIT')
		    or die;
	}
	select(undef, undef, undef, 0.5);
	my $t0 = time;
	my ($rc2, $err2) = try_sql($second);
	my $waited = time - $t0;
	waitpid($pid, 0);
	my $rc1 = $? >> 8;
	my $err1 = HS::slurp($errf);
	unlink $errf;
	return ($rc1, $err1, $rc2, $err2, $waited);
}

my $c3 = credential(name => "t22-race-$run", username => 'scanner');
my ($rc1, $err1, $rc2, $err2, $waited) = race(insert_sql(n => 20,
    cred => $c3), "DELETE FROM credential WHERE id = '$c3'");
is($rc1, 0, 'race, INSERT first: the INSERT commits') or diag $err1;
cmp_ok($waited, '>', 0.5, 'the DELETE waited for the INSERT\'s '
    . 'transaction') or diag "waited ${waited}s";
like($err2, qr/is used by queued or past scans/,
    'and then saw its hosts: refused');
is(psql("SELECT count(*) FROM credential WHERE id = '$c3'"), 1,
    'the credential is still there');

my $c4 = credential(name => "t22-race2-$run", username => 'scanner');
($rc1, $err1, $rc2, $err2, $waited) = race(
    "DELETE FROM credential WHERE id = '$c4'", insert_sql(n => 20,
    cred => $c4));
is($rc1, 0, 'race, DELETE first: the DELETE commits') or diag $err1;
cmp_ok($waited, '>', 0.5, 'the INSERT waited for the DELETE\'s '
    . 'transaction') or diag "waited ${waited}s";
like($err2, qr/names a credential that does not exist/,
    'and then found the credential gone: refused');
is(psql("SELECT count(*) FROM host_scan_host WHERE credential_id = '$c4'"),
    0, 'no host names the deleted credential');

psql("DELETE FROM host_scan_job WHERE id = '$job'");
done_testing();
