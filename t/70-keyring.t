#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Key rotation without a restart or a signal: a public key appended to the
# live keyring is trusted, and one removed from it is distrusted, by every
# worker within a second or so.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS;
use Check qw(log_size log_since responder_log shared_workers
    until_every_worker);
use Test::More;
use JSON::PP ();
use POSIX qw(strftime);
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $LIST = '/api/v1/HostScanJob';
my $ring = $ENV{HOSTSCAN_KEYRING};
my $scratch = tempdir('keyring-XXXXXX', DIR => $ENV{HOSTSCAN_TEST_DIR} // '/tmp',
    CLEANUP => 1);
my $WORKERS = 4;
if (open(my $c, '<', $ENV{HOSTSCAN_CONFIG} // '')) {
	for (<$c>) { $WORKERS = $1 if /^\s*workers\s*=\s*(\d+)/ }
	close($c);
}

sub slurp {
	my ($p) = @_;
	open(my $fh, '<', $p) or die "$p: $!";
	local $/;
	my $s = <$fh>;
	close($fh);
	return $s;
}

# Replaces the keyring the way an operator's tooling would: a new file
# with the same owner and mode, renamed over the old one.
sub write_ring {
	my ($text) = @_;
	my @st = stat($ring) or die "$ring: $!";
	my $tmp = "$ring.tmp.$$";
	open(my $fh, '>', $tmp) or die "$tmp: $!";
	print $fh $text;
	close($fh) or die "$tmp: $!";
	chmod($st[2] & 07777, $tmp);
	chown($st[4], $st[5], $tmp);
	rename($tmp, $ring) or die "rename $tmp: $!";
}

my $orig = slurp($ring);
my $restore = 0;
END {
	eval { write_ring($orig) if $restore && slurp($ring) ne $orig; 1 }
	    or warn "could not restore $ring: $@";
}

sub ts { return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + $_[0])) }
sub uuid4 {
	return sprintf('%08x-%04x-4%03x-%04x-%012x', int(rand(2**32)),
	    int(rand(2**16)), int(rand(2**12)), 0x8000 | int(rand(2**14)),
	    int(rand(2**48)));
}

sub sign_with {
	my ($key) = @_;
	my $payload = $J->encode({sub => 'keyring-test', roles => ['Admin'],
	    iat => ts(0), exp => ts(900), jti => uuid4()});
	open(my $fh, '-|', $ENV{HOSTSCAN_HS_SIGN}, $key, $payload) or die "hs-sign: $!";
	local $/;
	my $t = <$fh> // '';
	close($fh);
	die "hs-sign: exit $?" if $?;
	$t =~ s/\s+\z//;
	return $t;
}

# A small job's status: cheap to fetch, so polling measures the keyring
# and not the size of the job list.
my $probe;
sub status_of { return api(GET => $probe, token => $_[0])->{status} }

# Every worker must have noticed: requests until each worker pid of the
# responder (from the log line of each answer) has answered, every answer
# $want; and each worker logged that it re-read the keyring, holding
# $keys keys, since the log was $off bytes long.
sub all_workers {
	my ($tok, $want, $keys, $off, $what) = @_;
	my @w = shared_workers();
	is(scalar @w, $WORKERS, "$what: the responder runs $WORKERS workers");
	my $by = until_every_worker(workers => \@w,
	    send => sub { api(GET => $probe, token => $tok) });
	is_deeply([sort { $a <=> $b } keys %$by], [sort { $a <=> $b } @w],
	    "$what: each of the $WORKERS workers answered")
	    or diag explain { map { $_ => scalar @{$by->{$_}} } keys %$by };
	my @wrong = grep { $_->{status} != $want } map { @$_ } values %$by;
	is(scalar @wrong, 0, "$what: every answer of every worker is $want")
	    or diag(join ' ', map { $_->{status} } @wrong);
	my %loaded = map { $_ => 1 } log_since(responder_log(), $off) =~
	    /^\S+ \S+ prog=\S+ pid=(\d+) event=keyring_loaded keys=$keys$/mg;
	is_deeply([sort { $a <=> $b } keys %loaded], [sort { $a <=> $b } @w],
	    "$what: each worker logged the keyring re-read (keys=$keys)");
}

my $old_tok = token(roles => 'Admin', sub => 'keyring-old');
{
	my $r = api(POST => $LIST, token => $old_tok,
	    json => [host_item(dnsHostName => 'keyring.example.test')]);
	is($r->{status}, 200, 'a small job to probe with');
	$probe = "$LIST/" . (($r->{json} // {})->{id} // 'none') . '/Status';
}
is(status_of($old_tok), 200, 'token of the current key: 200 before rotation');

# ---- add a second key to the live keyring ----

my $new_key = "$scratch/new-signing.key";
my $cfg_path = "$scratch/hostscan-rotate.conf";
{
	open(my $in, '<', $ENV{HOSTSCAN_CONFIG}) or die "config: $!";
	my $cfg = join('', grep { !/^\s*(?:keyring|signing_key)\s*=/ } <$in>);
	close($in);
	open(my $out, '>', $cfg_path) or die "$cfg_path: $!";
	print $out $cfg, "keyring = $ring\nsigning_key = $new_key\n";
	close($out) or die "$cfg_path: $!";
}
my ($t0, $off_add);
my $nkeys = () = $orig =~ /^k4\.public\./mg;
{
	local $ENV{HOSTSCAN_CONFIG} = $cfg_path;
	local $ENV{HOSTSCAN_SIGNING_KEY} = $new_key;
	local $ENV{HOSTSCAN_KEYRING} = $ring;
	$restore = 1;
	$off_add = log_size(responder_log());
	my ($rc, $out, $err) = ctl(['keygen']);
	$t0 = time;
	is($rc, 0, 'keygen of a second key into the live keyring succeeds')
	    or diag($err);
}
my $after_add = slurp($ring);
is(substr($after_add, 0, length $orig), $orig, 'keygen kept the existing keyring lines');
my @added = grep { /\Ak4\.public\./ } split(/\n/, substr($after_add, length $orig));
is(scalar @added, 1, 'keygen appended exactly one k4.public line');

my $new_tok = sign_with($new_key);
ok(wait_for(sub { status_of($new_tok) == 200 }, 2),
    'token of the new key accepted within 2 s, without SIGHUP');
my $noticed = time - $t0;
cmp_ok($noticed, '<', HS::scaled(1.5),
    sprintf('first worker noticed the new key after %.2f s', $noticed));
all_workers($new_tok, 200, $nkeys + 1, $off_add, 'the new key');
is(status_of($old_tok), 200, 'token of the old key still accepted during rotation');

# ---- remove the old key ----

my $used_old = token(roles => 'Admin', sub => 'keyring-old');
is(status_of($used_old), 200, 'a fresh old-key token works before removal');
my $off_rm = log_size(responder_log());
write_ring(join("\n", @added) . "\n");
ok(wait_for(sub { status_of($old_tok) == 401 }, 2),
    'token of the removed key refused within 2 s');
all_workers($used_old, 401, 1, $off_rm, 'the removed key');
is(status_of($new_tok), 200, 'token of the remaining key still accepted');
is(status_of(sign_with($new_key)), 200, 'a new token of the remaining key accepted');

# ---- restore for the tests that follow ----

my $off_back = log_size(responder_log());
write_ring($orig);
ok(wait_for(sub { status_of($old_tok) == 200 }, 2),
    'restored keyring: old key accepted again within 2 s');
all_workers($old_tok, 200, $nkeys, $off_back, 'the restored keyring');
is(status_of($new_tok), 401, 'restored keyring: the rotated-in key is gone again');
is(slurp($ring), $orig, 'keyring restored byte for byte');

done_testing();
