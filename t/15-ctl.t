#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# hostscanctl against the test database: migrations applied once each,
# keys written with the right modes, tokens that carry what was asked,
# credentials sealed so that their secret is neither stored in clear nor
# printed by any command.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(ctl psql decode_payload api run_cmd sql_quote note_secret);
use Check qw(responder_log postgres_log secrets_absent);
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use MIME::Base64 ();
use Time::Local qw(timegm);

plan skip_all => 'integration services not running (run scripts/test)'
    if grep { !$ENV{$_} } qw(HOSTSCAN_TEST_ADMIN_DB HOSTSCANCTL
    HOSTSCAN_CONFIG HOSTSCAN_TEST_DIR HOSTSCAN_URL);

my $J = JSON::PP->new->utf8->canonical;
my $dir = tempdir('ctl-XXXXXX', DIR => $ENV{HOSTSCAN_TEST_DIR},
    CLEANUP => 1);
my $tag = sprintf('ctl-%d-%08x', $$, int(rand(2**32)));
my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;

# Everything any command printed, and every secret it was given: checked
# against each other at the end (and registered for the search of every
# file the run wrote).
my (@printed, @secrets);

sub secret {
	for my $s (@_) {
		push @secrets, $s;
		note_secret($s, 't/15-ctl.t');
	}
}

# The run's own keys, which every command here reads: none may ever be
# printed or logged.
{
	my ($totp) = (slurp($ENV{HOSTSCAN_CONFIG} // '/dev/null') // '') =~
	    /^\s*totp_key\s*=\s*(\S+)/m;
	ok(defined $totp, 'the configuration names the totp_key');
	secret((slurp($ENV{HOSTSCAN_SIGNING_KEY} // '/dev/null') // '')
	    =~ /(k4\.secret\.\S+)/);
	secret((slurp($_) // '') =~ /^[0-9a-f]{16} (\S+)/mg)
	    for grep { defined } $ENV{HOSTSCAN_MASTER_KEY}, $totp;
}

sub run {
	my ($args, %o) = @_;
	my ($rc, $out, $err) = ctl($args, %o);
	push @printed, $out, $err;
	return ($rc, $out, $err);
}

sub slurp {
	my ($p) = @_;
	open(my $fh, '<', $p) or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

sub spew {
	my ($p, $s) = @_;
	open(my $fh, '>', $p) or die "$p: $!";
	print $fh $s;
	close $fh or die "$p: $!";
}

sub mode { return (stat($_[0]))[2] & 07777 }

sub b64url {
	my ($s) = @_;
	$s =~ tr{-_}{+/};
	$s .= '=' x ((4 - length($s) % 4) % 4);
	return MIME::Base64::decode_base64($s);
}

# ---- command line -----------------------------------------------------

{
	my ($rc, $out) = run(['--help']);
	is($rc, 0, '--help exits 0');
	like($out, qr/credential add/, '--help prints the usage');
	($rc, $out) = run(['--version']);
	is($rc, 0, '--version exits 0');
	like($out, qr/\Ahostscanctl \S+\n\z/, '--version prints the version');
	my $err;
	($rc, $out, $err) = run(['no-such-command']);
	is($rc, 2, 'an unknown command is a usage error');
	like($err, qr/\Ahostscanctl: unknown command/, 'and says so');
	($rc) = run([]);
	is($rc, 2, 'no command is a usage error');
	($rc) = run(['token', 'issue', '--role', 'Admin', '--sub', 'x',
	    '--bogus']);
	is($rc, 2, 'an unknown option is a usage error');
}

# ---- migrate ----------------------------------------------------------

my @dbs;
END {
	for my $db (@dbs) {
		run_cmd(['psql', '-XAtq', '-d', 'postgres', '-c',
		    "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"]);
	}
}

sub psql_db {
	my ($db, $sql) = @_;
	my ($rc, $out, $err) = run_cmd(['psql', '-XAtq', '-v',
	    'ON_ERROR_STOP=1', '-d', $db, '-c', $sql]);
	die "psql $db failed: $err" if $rc;
	$out =~ s/\s+\z//;
	return $out;
}

# A fresh database and a copy of the configuration whose admin_database
# points at it.
sub fresh_db {
	my ($suffix) = @_;
	my $db = "hs_ctl_${$}_$suffix";
	psql("CREATE DATABASE \"$db\"");
	push @dbs, $db;
	my $conn = $ENV{HOSTSCAN_TEST_ADMIN_DB};
	$conn = "$conn dbname=x" unless $conn =~ /\bdbname=/;
	$conn =~ s/\bdbname=\S+/dbname=$db/;
	my $conf = "$dir/$db.conf";
	my @lines = grep { !/\A\s*admin_database\s*=/ }
	    split /^/, slurp($ENV{HOSTSCAN_CONFIG});
	spew($conf, join('', @lines) . "\nadmin_database = $conn\n");
	return ($db, $conf);
}

{
	my $sqldir = "$FindBin::Bin/../sql";
	opendir(my $dh, $sqldir) or die "$sqldir: $!";
	my @files = sort grep { /\A\d+_.+\.sql\z/ } readdir $dh;
	closedir $dh;
	ok(@files >= 1, 'the shipped migrations are found');

	my ($db, $conf) = fresh_db('m');
	my ($rc, $out, $err) = run(['--config', $conf, 'migrate',
	    '--sql-dir', $sqldir]);
	is($rc, 0, 'migrate on an empty database') or diag $err;
	is($out, join('', map { "applied $_\n" } @files),
	    'one line per applied migration, in order');
	($rc, $out, $err) = run(['--config', $conf, 'migrate', '--sql-dir',
	    $sqldir]);
	is($rc, 0, 'a second migrate succeeds') or diag $err;
	is($out, "up to date\n", 'and applies nothing');
	is(psql_db($db, 'SELECT count(*) FROM schema_migration'),
	    scalar(@files), 'schema_migration has one row per file');
	is(psql_db($db, "SELECT string_agg(name, ',' ORDER BY version) "
	    . 'FROM schema_migration'), join(',', @files),
	    'each row names its file');
	is(psql_db($db, "SELECT count(*) FROM platform WHERE name = 'Linux'"),
	    1, 'the schema is really there');

	# A failing file leaves nothing of itself behind.
	my ($db2, $conf2) = fresh_db('f');
	my $bad = "$dir/sql-bad";
	mkdir $bad or die "$bad: $!";
	spew("$bad/001_ok.sql", "CREATE TABLE ctl_ok (a int);\n");
	spew("$bad/002_bad.sql", "CREATE TABLE ctl_half (a int);\n\n"
	    . "SELEC 1;\n");
	spew("$bad/README", "not a migration\n");
	($rc, $out, $err) = run(['--config', $conf2, 'migrate', '--sql-dir',
	    $bad]);
	is($rc, 1, 'a failing migration exits 1');
	is($out, "applied 001_ok.sql\n", 'the good one before it is applied');
	like($err, qr/\Ahostscanctl: migrate: 002_bad\.sql:3: .*syntax error/,
	    'the error names the file, its line and PostgreSQL\'s message');
	is(psql_db($db2, 'SELECT count(*) FROM schema_migration'), 1,
	    'the failed file is not recorded');
	is(psql_db($db2, "SELECT to_regclass('ctl_half') IS NULL"), 't',
	    'its first statement was rolled back');
	spew("$bad/002_bad.sql", "CREATE TABLE ctl_half (a int);\n");
	($rc, $out) = run(['--config', $conf2, 'migrate', '--sql-dir', $bad]);
	is($rc, 0, 'once fixed, migrate succeeds');
	is($out, "applied 002_bad.sql\n", 'once fixed, only it is applied');
	spew("$bad/02_dup.sql", "SELECT 1;\n");
	($rc, $out, $err) = run(['--config', $conf2, 'migrate', '--sql-dir',
	    $bad]);
	is($rc, 1, 'two files with the same number are refused');
	like($err, qr/same number 2/, 'and the error says why');
}

# ---- keygen -------------------------------------------------------------

{
	my %env = (HOSTSCAN_SIGNING_KEY => "$dir/signing.key",
	    HOSTSCAN_KEYRING => "$dir/keyring");
	my ($rc, $out, $err) = run(['keygen'], env => \%env);
	is($rc, 0, 'keygen') or diag $err;
	like($out, qr/\Ak4\.pid\.[A-Za-z0-9_-]{44}\n\z/, 'prints the k4.pid');
	my $sk = slurp("$dir/signing.key");
	like($sk, qr/\Ak4\.secret\.[A-Za-z0-9_-]{86}\n\z/,
	    'the signing key file holds one k4.secret line');
	secret($sk =~ /(k4\.secret\.\S+)/);
	is(sprintf('%04o', mode("$dir/signing.key")), '0600',
	    'the signing key is mode 0600');
	my $ring = slurp("$dir/keyring");
	like($ring, qr/\Ak4\.public\.[A-Za-z0-9_-]{43}\n\z/,
	    'the keyring got the k4.public line');
	is(sprintf('%04o', mode("$dir/keyring")), '0644',
	    'a new keyring is mode 0644');

	($rc, $out, $err) = run(['keygen'], env => \%env);
	is($rc, 1, 'keygen refuses to overwrite the signing key');
	like($err, qr/exists.*--force/, 'and points at --force');
	is(slurp("$dir/signing.key"), $sk, 'the key is untouched');
	is(slurp("$dir/keyring"), $ring, 'the keyring is untouched');

	($rc, $out, $err) = run(['keygen', '--force'], env => \%env);
	is($rc, 0, 'keygen --force') or diag $err;
	my $sk2 = slurp("$dir/signing.key");
	secret($sk2 =~ /(k4\.secret\.\S+)/);
	isnt($sk2, $sk, 'replaces the signing key');
	is(sprintf('%04o', mode("$dir/signing.key")), '0600',
	    'still mode 0600');
	my @lines = split /\n/, slurp("$dir/keyring");
	is(scalar(@lines), 2, 'the keyring now has two public keys');
	is("$lines[0]\n", $ring, 'the old one is kept, first');

	# An operator's keyring without a final newline.
	spew("$dir/ring2", "# hand-edited\n$lines[0]");
	($rc) = run(['keygen'], env => {
	    HOSTSCAN_SIGNING_KEY => "$dir/signing2.key",
	    HOSTSCAN_KEYRING => "$dir/ring2" });
	is($rc, 0, 'keygen with a keyring lacking its final newline');
	like(slurp("$dir/ring2"),
	    qr/\A# hand-edited\nk4\.public\.\S+\nk4\.public\.\S+\n\z/,
	    'the new key still gets a line of its own');
	secret((slurp("$dir/signing2.key") // '') =~ /(k4\.secret\.\S+)/);
}

# ---- token issue / revoke -------------------------------------------------

my $max_ttl = 366 * 86400;
for (split /\n/, slurp($ENV{HOSTSCAN_CONFIG})) {
	$max_ttl = $1 if /^\s*token_max_ttl\s*=\s*(\d+)/;
}

my $jti;
{
	my ($rc, $out, $err) = run(['token', 'issue', '--role', 'Admin,App',
	    '--sub', "$tag-sub", '--name', 'CTL Test', '--ttl', 120]);
	is($rc, 0, 'token issue') or diag $err;
	chomp(my $tok = $out);
	unlike($tok, qr/\s/, 'one token on one line');
	my @p = split /\./, $tok;
	is(scalar @p, 4, 'four dot-separated parts (with the footer)');
	is("$p[0].$p[1]", 'v4.public', 'a v4.public token');
	my $c = eval { decode_payload($tok) } // {};
	is($c->{sub}, "$tag-sub", 'sub claim');
	is($c->{name}, 'CTL Test', 'name claim');
	is_deeply($c->{roles}, ['Admin', 'App'], 'roles claim');
	like($c->{jti} // '', $UUID, 'a uuid jti');
	$jti = $c->{jti};
	my ($iat, $exp) = map {
		/\A(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z\z/
		    ? timegm($6, $5, $4, $3, $2 - 1, $1) : -1
	} ($c->{iat} // '', $c->{exp} // '');
	is($exp - $iat, 120, 'exp is iat + ttl');
	ok(abs($iat - time) < 60, 'iat is now');
	like($err, qr/\Ajti=\Q$jti\E exp=\Q$c->{exp}\E\n\z/,
	    'stderr says jti and exp');
	my $f = eval { $J->decode(b64url($p[3] // '')) } // {};
	like($f->{kid} // '', qr/\Ak4\.pid\./, 'the footer has the kid');

	my $r = api('GET', '/api/v1/HostScanJob?limit=1', token => $tok);
	is($r->{status}, 200, 'the responder accepts the token');
	($rc, $out, $err) = run(['token', 'revoke', $jti]);
	is($rc, 0, 'token revoke') or diag $err;
	is($out, "revoked $jti\n", 'says so');
	is(psql('SELECT count(*) FROM revoked_token WHERE jti = '
	    . sql_quote($jti)), 1, 'the jti is in revoked_token');
	($rc) = run(['token', 'revoke', $jti]);
	is($rc, 0, 'revoking twice is fine');
	is(psql('SELECT count(*) FROM revoked_token WHERE jti = '
	    . sql_quote($jti)), 1, 'still one row');
	$r = api('GET', '/api/v1/HostScanJob?limit=1', token => $tok);
	is($r->{status}, 401, 'the responder refuses the revoked token');
	($rc) = run(['token', 'revoke']);
	is($rc, 2, 'token revoke needs a jti');

	($rc, $out) = run(['token', 'issue', '--role', 'User', '--sub', 'x']);
	is($rc, 0, 'the default ttl works');
	my $d = eval { decode_payload($out) } // {};
	is_deeply($d->{roles}, ['User'], 'a single role');
}

for my $ttl (0, -1, $max_ttl + 1, 'abc', '10s', '') {
	my ($rc, $out, $err) = run(['token', 'issue', '--role', 'Admin',
	    '--sub', 'x', '--ttl', $ttl]);
	is($rc, 2, "--ttl '$ttl' is refused");
	is($out, '', 'and no token printed');
}
{
	my ($rc) = run(['token', 'issue', '--role', 'Admin', '--sub', 'x',
	    '--ttl', $max_ttl]);
	is($rc, 0, '--ttl token_max_ttl itself is fine');
}
for my $roles ('', 'Ad min', 'Admin,,App', ',Admin', 'Admin,', 'A' x 65,
    'Admin;App', "Adm\x{e9}n", 'Admin,Admin',
    join(',', map { "R$_" } 1 .. 33)) {
	my ($rc, $out) = run(['token', 'issue', '--role', $roles,
	    '--sub', 'x']);
	is($rc, 2, 'bad --role ' . substr($roles, 0, 20) . ' is refused');
	is($out, '', 'and no token printed');
}
{
	my ($rc) = run(['token', 'issue', '--role', 'Admin']);
	is($rc, 2, '--sub is required');
	($rc) = run(['token', 'issue', '--role', 'A' x 64, '--sub', 'x']);
	is($rc, 0, 'a 64-character role is fine');
	($rc) = run(['token', 'issue', '--role',
	    join(',', map { "R$_" } 1 .. 32), '--sub', 'x']);
	is($rc, 0, '32 roles are fine');
}

# ---- credentials ----------------------------------------------------------

sub cred_row {
	my ($name) = @_;
	my $r = psql('SELECT id, kind, key_id, length(secret), '
	    . 'encode(secret, \'hex\') FROM credential WHERE name = '
	    . sql_quote($name));
	return split /\|/, $r;
}

sub add_cred {
	my ($name, $secret, @extra) = @_;
	return run(['credential', 'add', '--name', $name, '--username',
	    'scanner', '--scope', 'any', @extra], stdin => $secret);
}

my $BOX = 24 + 16;	# nonce and MAC around the text
{
	my $pw = "pw-$tag-" . sprintf('%08x', int(rand(2**32)));
	secret($pw);
	my ($rc, $out, $err) = add_cred("$tag-pw", "$pw\n");
	is($rc, 0, 'credential add with a password on stdin') or diag $err;
	like($out, qr/\A[0-9a-f-]{36}\n\z/, 'prints the new id');
	chomp(my $id = $out);
	my ($dbid, $kind, $kid, $len, $hex) = cred_row("$tag-pw");
	is($dbid, $id, 'the printed id is the row');
	is($kind, 'password', 'kind password');
	is($len, $BOX + length($pw), 'exactly one trailing newline dropped');
	unlike($hex, qr/\Q${\ unpack('H*', $pw)}\E/,
	    'the stored secret does not contain the password');
	my ($current) = (slurp(HS::env_required('HOSTSCAN_MASTER_KEY'))
	    // '') =~ /^([0-9a-f]{16}) /m;
	ok(defined $current, 'the master key file names its current key');
	is($kid, $current, 'sealed under the current master key');

	($rc, $out, $err) = run(['credential', 'list']);
	is($rc, 0, 'credential list');
	like($out, qr/^\Q$id\E\s+\Q$tag-pw\E\s+scanner\s+password\s+\d{4}-/m,
	    'the table shows it');
	like($out, qr/\AID\s+NAME\s+USERNAME\s+KIND\s+CREATED\s+ZONE\s+SCOPE\n/,
	    'under a header');
	($rc, $out) = run(['credential', 'list', '--json']);
	is($rc, 0, 'credential list --json');
	my $list = eval { $J->decode($out) };
	is(ref $list, 'ARRAY', 'a JSON array');
	my ($e) = grep { $_->{name} eq "$tag-pw" } @{$list // []};
	is_deeply([sort keys %{$e // {}}],
	    [qw(createdAt id kind name scope scopeSet username zone)],
	    'id, name, username, kind, createdAt, zone, scope, scopeSet and nothing else');
	is($e->{id}, $id, 'with its id');
	is($e->{kind}, 'password', 'and kind');

	my $pw2 = "two-newlines-$tag";
	secret($pw2);
	($rc) = add_cred("$tag-pw2", "$pw2\n\n");
	is($rc, 0, 'a password ending in two newlines is added');
	(undef, undef, undef, $len) = cred_row("$tag-pw2");
	is($len, $BOX + length($pw2) + 1, 'only one of two newlines dropped');
	my $pw3 = "crlf-$tag";
	secret($pw3);
	($rc) = add_cred("$tag-pw3", "$pw3\r\n");
	is($rc, 0, 'a password ending in CRLF is added');
	(undef, undef, undef, $len) = cred_row("$tag-pw3");
	is($len, $BOX + length($pw3), 'a trailing CRLF is dropped');

	($rc, $out, $err) = add_cred("$tag-pw", "other\n");
	is($rc, 1, 'a duplicate name is refused');
	like($err, qr/\Ahostscanctl: a credential named \Q$tag-pw\E already exists\n\z/,
	    'with a clear error');

	($rc, $out, $err) = run(['credential', 'rm', "$tag-pw"]);
	is($rc, 0, 'credential rm NAME') or diag $err;
	is(psql("SELECT count(*) FROM credential WHERE id = '$id'"), 0,
	    'the row is gone');
	($rc, $out, $err) = run(['credential', 'rm', "$tag-pw"]);
	is($rc, 1, 'removing it again fails');
	like($err, qr/no such credential/, 'saying there is no such credential');
	my ($id2) = cred_row("$tag-pw2");
	($rc) = run(['credential', 'rm', $id2]);
	is($rc, 0, 'credential rm ID');
	is(psql("SELECT count(*) FROM credential WHERE id = '$id2'"), 0,
	    'that row is gone too');
	($rc) = run(['credential', 'rm', "$tag-pw3"]);
	is($rc, 0, 'credential rm of the CRLF one');
	($rc) = run(['credential', 'rm', '00000000-0000-0000-0000-000000000000']);
	is($rc, 1, 'an unknown id fails');
}

{
	my $pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
	    . "b3BlbnNzaC1rZXktdjEAAAAA$tag\n"
	    . "-----END OPENSSH PRIVATE KEY-----\n";
	secret("b3BlbnNzaC1rZXktdjEAAAAA$tag");
	my ($rc, $out, $err) = add_cred("$tag-key", $pem);
	is($rc, 0, 'credential add with a private key') or diag $err;
	my (undef, $kind, undef, $len) = cred_row("$tag-key");
	is($kind, 'private_key', 'detected as a private key');
	is($len, $BOX + length($pem), 'kept exactly, final newline included');
	($rc, $out) = run(['credential', 'list']);
	is($rc, 0, 'credential list with a private key in it');
	like($out, qr/\Q$tag-key\E\s+scanner\s+private-key\s/,
	    'listed as private-key');
	($rc, $out, $err) = add_cred("$tag-notkey", "just a password\n",
	    '--kind', 'private-key');
	is($rc, 1, '--kind private-key without a key is refused');
	($rc) = add_cred("$tag-notkey", "x\n", '--kind', 'rsa');
	is($rc, 2, 'an unknown --kind is a usage error');
	($rc) = add_cred("$tag-key2", $pem, '--kind', 'password');
	is($rc, 0, 'a key given --kind password is added');
	is((cred_row("$tag-key2"))[1], 'password', 'an explicit --kind wins');
	($rc) = run(['credential', 'rm', "$tag-key2"]);
	is($rc, 0, 'and removed');

	# Still referenced by a scan: the foreign key says no.
	my $job = psql("INSERT INTO host_scan_job (created_by) VALUES "
	    . "('$tag') RETURNING id");
	psql("INSERT INTO host_scan_host (job_id, ord, dns_host_name, "
	    . "credential_id, ssh_port) SELECT '$job', 0, 'h.example.test', "
	    . "id, 22 FROM credential WHERE name = " . sql_quote("$tag-key"));
	($rc, $out, $err) = run(['credential', 'rm', "$tag-key"]);
	is($rc, 1, 'a credential used by a scan cannot be removed');
	like($err, qr/credential \Q$tag-key\E is used by queued or past scans/,
	    'and the error says why');
	is(psql('SELECT count(*) FROM credential WHERE name = '
	    . sql_quote("$tag-key")), 1, 'it is still there');
	psql("DELETE FROM host_scan_job WHERE id = '$job'");
	($rc) = run(['credential', 'rm', "$tag-key"]);
	is($rc, 0, 'once the scan is gone it can be removed');
}

{
	my ($rc, $out, $err) = add_cred("$tag-empty", '');
	is($rc, 1, 'an empty secret is refused');
	($rc) = add_cred("$tag-empty", "\n");
	is($rc, 1, 'a lone newline is an empty secret too');
	($rc, $out, $err) = add_cred("$tag-big", 'a' x 65537);
	is($rc, 1, 'more than HS_MAX_SECRET_BYTES is refused');
	like($err, qr/secret too long/, 'as "secret too long"');
	($rc) = add_cred("$tag-big", 'a' x 65536);
	is($rc, 0, 'exactly HS_MAX_SECRET_BYTES is fine');
	($rc) = run(['credential', 'rm', "$tag-big"]);
	is($rc, 0, 'and removed');
	($rc) = add_cred("$tag-nul", "ab\0cd\n");
	is($rc, 1, 'a NUL byte in the secret is refused');
	($rc, $out, $err) = run(['credential', 'add', '--name', "$tag-argv",
	    '--username', 'u', '--scope', 'any', 'hunter2'], stdin => "x\n");
	is($rc, 2, 'a secret on the command line is a usage error');
	like($err, qr/stdin/, 'pointing at stdin');
	($rc) = add_cred('n' x 1025, "x\n");
	is($rc, 2, 'a name over 1024 characters is refused');
	($rc) = run(['credential', 'add', '--name', "$tag-u", '--username',
	    'u' x 257, '--scope', 'any'], stdin => "x\n");
	is($rc, 2, 'a username over 256 characters is refused');
	is(psql("SELECT count(*) FROM credential WHERE name LIKE "
	    . sql_quote("$tag-%")), 0, 'no refused credential was stored');
}

# ---- masterkey new: rotation --------------------------------------------

{
	my %env = (HOSTSCAN_MASTER_KEY => "$dir/master.key");
	my ($rc, $out, $err) = run(['masterkey', 'new'], env => \%env);
	is($rc, 0, 'masterkey new creates a key file') or diag $err;
	like($out, qr/\A[0-9a-f]{16}\n\z/, 'prints the new key id');
	chomp(my $id1 = $out);
	is(sprintf('%04o', mode("$dir/master.key")), '0600', 'mode 0600');
	secret(slurp("$dir/master.key") =~ /^[0-9a-f]{16} (\S+)/mg);

	secret("m1-$tag");
	($rc) = run(['credential', 'add', '--name', "$tag-m1", '--username',
	    'u', '--scope', 'any'], stdin => "m1-$tag\n", env => \%env);
	is($rc, 0, 'a credential added under the new master key');
	is((cred_row("$tag-m1"))[2], $id1, 'a credential is sealed under it');

	($rc, $out) = run(['masterkey', 'new'], env => \%env);
	is($rc, 0, 'a second masterkey new');
	chomp(my $id2 = $out);
	isnt($id2, $id1, 'a second key has another id');
	my @ids = slurp("$dir/master.key") =~ /^([0-9a-f]{16}) /mg;
	is_deeply(\@ids, [$id2, $id1], 'new key first, old one kept');
	secret(slurp("$dir/master.key") =~ /^[0-9a-f]{16} (\S+)/mg);
	is(sprintf('%04o', mode("$dir/master.key")), '0600',
	    'still mode 0600');
	secret("m2-$tag");
	($rc) = run(['credential', 'add', '--name', "$tag-m2", '--username',
	    'u', '--scope', 'any'], stdin => "m2-$tag\n", env => \%env);
	is($rc, 0, 'a credential added after the rotation');
	is((cred_row("$tag-m2"))[2], $id2, 'new credentials use the new key');

	chmod 0640, "$dir/master.key";
	($rc, $out, $err) = run(['credential', 'add', '--name', "$tag-m3",
	    '--username', 'u', '--scope', 'any'], stdin => "m3\n",
	    env => \%env);
	is($rc, 1, 'a group-readable master key file is refused');
	like($err, qr/mode 0640/, 'naming the mode');
	($rc) = run(['credential', 'add', '--name', "$tag-m3", '--username',
	    'u', '--scope', 'any'], stdin => "m3\n", env => {
	    HOSTSCAN_MASTER_KEY => "$dir/absent.key" });
	is($rc, 1, 'a missing master key file is an error');
	is((run(['credential', 'rm', "$tag-m$_"]))[0], 0, "credential rm m$_")
	    for 1, 2;
}

# ---- nothing secret was ever printed -----------------------------------

{
	my $all = join("\n", @printed);
	my @leaked = grep { length($_) >= 6 && index($all, $_) >= 0 } @secrets;
	ok(@secrets >= 8, 'secrets were collected (' . scalar(@secrets) . ')');
	is(scalar(@leaked), 0, 'no secret appears in any stdout or stderr')
	    or diag 'leaked: ' . join(', ', map { substr($_, 0, 8) . '...' }
	    @leaked);
	secrets_absent('hostscanctl secrets', [grep { length($_) >= 6 }
	    @secrets], responder_log(), postgres_log());
}

done_testing();
