#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# CSV onboarding: POST /HostScanJob/ValidateImportedCSV (auth, body-level
# errors, where each problem lands, and that it never disagrees with POST
# /HostScanJob on any item), then hostscanctl import-csv end to end: the
# file format, the errors table and exit status, what reaches the
# database, --credential, --dry-run, --watch and a 10 000-row file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(need_services api token ctl psql credential host_item wait_for
    sql_quote scratch_dir wait_exit);
use Test::More;
use File::Temp ();
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

need_services();
HS::env_required('HOSTSCANCTL');

my $UUID = qr/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
my $ZERO = '00000000-0000-0000-0000-000000000000';
my $VALIDATE = '/api/v1/HostScanJob/ValidateImportedCSV';
my @VERDICTS = qw(dnsHostNameError ipAddressError credentialNameError
    platformNameError errors);
my $J = JSON::PP->new->utf8->allow_nonref->canonical;

my $tok = token(roles => 'Admin', sub => 'csv-test');
my $cred_id = credential(name => 'csv-cred', username => 'scanner',
    secret => 'csv-secret');
credential(name => 'csv-cred2', username => 'scanner2', secret => 'csv-2');
my $odd_cred = 'csv, "odd" cred';
credential(name => $odd_cred, username => 'scanner3', secret => 'csv-3');
my $dir = File::Temp->newdir(DIR => scratch_dir());
chmod 0755, "$dir";
my @jobs;

# Jobs left queued would wait for the next test's scheduler.
END {
	my $st = $?;
	eval {
		psql("UPDATE host_scan_host SET state = 4 WHERE state = 0 AND"
		    . " job_id IN (" . join(', ', map { sql_quote($_) } @jobs)
		    . ")") if @jobs;
	};
	$? = $st;
}

sub validate { return api(POST => $VALIDATE, token => $tok, @_) }

sub post_job { return api(POST => '/api/v1/HostScanJob', token => $tok, @_) }

sub bad { my ($v) = @_; return scalar grep { defined $v->{$_} } @VERDICTS }

sub jobs_count { return psql('SELECT count(*) FROM host_scan_job') }

sub item { return host_item(credentialName => 'csv-cred', @_) }

# ---- ValidateImportedCSV: auth and method ----

{
	my $body = [ item() ];
	my $r = api(POST => $VALIDATE, json => $body);
	is($r->{status}, 401, 'no token: 401');
	like($r->{headers}{'www-authenticate'} // '', qr/\ABearer/,
	    'no token: WWW-Authenticate Bearer');
	$r = api(POST => $VALIDATE, json => $body,
	    token => token(roles => 'User', sub => 'csv-user'));
	is($r->{status}, 403, 'User role: 403');
	$r = api(GET => $VALIDATE, token => $tok);
	is($r->{status}, 405, 'GET: 405');
	like($r->{headers}{allow} // '', qr/\APOST\z/, 'Allow: POST');
	$r = api(POST => lc($VALIDATE), token => $tok, json => $body);
	is($r->{status}, 200, 'route matches case-insensitively');
}

# ---- body-level problems: the same 400 as POST /HostScanJob ----

{
	my $max = 10000;
	my @cases = (
		['not JSON', body => '[{"dnsHostName": ', headers =>
		    {'Content-Type' => 'application/json'}],
		['an object, not an array', json => item()],
		['an empty array', json => []],
		['more than max_hosts_per_request items',
		    json => [ map { item() } 0 .. $max ]],
	);
	for my $c (@cases) {
		my ($name, @req) = @$c;
		my $before = jobs_count();
		my $v = validate(@req);
		my $p = post_job(@req);
		is($v->{status}, 400, "$name: 400");
		like($v->{headers}{'content-type'} // '',
		    qr{\Aapplication/problem\+json}, "$name: problem+json");
		is_deeply([sort keys %{$v->{json}{errors} // {}}], ['$'],
		    "$name: errors on \$");
		is_deeply($v->{json}{errors}, $p->{json}{errors},
		    "$name: the same errors as POST /HostScanJob");
		is(jobs_count(), $before, "$name: no job");
	}
}

# ---- where each problem lands, and the POST invariant ----

my $long = 'x' x 257;
my @items = (
	['good', item(source => 'User Input', foo => 'dropped')],
	['good, IP only', item(dnsHostName => undef, ipAddress => '192.0.2.7')],
	['good, name only', item(ipAddress => '', dnsHostName => 'n.example.test')],
	['good, credentialId', item(credentialId => $cred_id,
	    credentialName => undef)],
	['bad host name', item(dnsHostName => 'bad_name!')],
	['bad IP', item(ipAddress => '999.1.1.1')],
	['neither name nor IP', item(dnsHostName => undef, ipAddress => '')],
	['unknown credential name', item(credentialName => 'csv-no-such')],
	['unknown credentialId', item(credentialId =>
	    '6d1f4a52-3d8e-4c3a-9b0e-1f2a3b4c5d6e', credentialName => undef)],
	['credentialId not a uuid', item(credentialId => 'not-a-uuid')],
	['no credential', item(credentialName => undef, credentialId => $ZERO)],
	['unknown platform', item(platformName => 'linux')],
	['sshPort out of range', item(sshPort => 70000)],
	['bad trust action', item(sshTrustActionType => 'Sometimes')],
	['bad thumbprint', item(trustedThumbprint => 'SHA256:short')],
	['source too long', item(source => $long)],
	['os not a string', item(os => 42)],
	['accept flag not a bool', item(acceptThumbprintOnFirstDiscovery => 'yes')],
	['not an object', 42],
	['name and IP both bad', item(dnsHostName => '-x-', ipAddress => 'nope')],
);
my @sent = map { $_->[1] } @items;
my $v = validate(json => \@sent);
is($v->{status}, 200, 'ValidateImportedCSV of a mixed set: 200')
    or diag($v->{content});
my $got = ref $v->{json} eq 'ARRAY' ? $v->{json} : [];
is(scalar @$got, scalar @items, 'one answer per item');
my %v = map { $items[$_][0] => $got->[$_] // {} } 0 .. $#items;

for my $i (0 .. $#items) {
	my ($name, $in) = @{$items[$i]};
	my $o = $got->[$i] // {};
	ok((grep { exists $o->{$_} } @VERDICTS) == @VERDICTS,
	    "$name: every verdict field present");
	next unless ref $in eq 'HASH';
	is_deeply([map { $o->{$_} } qw(dnsHostName ipAddress credentialName
	    platformName sshPort source)], [map { $in->{$_} } qw(dnsHostName
	    ipAddress credentialName platformName sshPort source)],
	    "$name: fields as sent, in request order");
}
ok(!exists $v{good}{foo}, 'unknown fields are dropped');
is(bad($v{$_}), 0, "$_: all verdicts null")
    for ('good', 'good, IP only', 'good, name only', 'good, credentialId');
like($v{'bad host name'}{dnsHostNameError} // '',
    qr/\AdnsHostName must be an RFC 1123 host name/, 'bad host name: a sentence '
    . 'about dnsHostName');
is(bad($v{'bad host name'}), 1, 'bad host name: only that verdict');
like($v{'bad IP'}{ipAddressError} // '',
    qr/\AipAddress must be an IPv4 or IPv6 address\.\z/, 'bad IP: ipAddressError');
is(bad($v{'bad IP'}), 1, 'bad IP: only that verdict');
for my $k (qw(dnsHostNameError ipAddressError)) {
	like($v{'neither name nor IP'}{$k} // '',
	    qr/dnsHostName or ipAddress is required/,
	    "neither name nor IP: $k says one of them is required");
}
like($v{'unknown credential name'}{credentialNameError} // '',
    qr/no credential has this name/, 'unknown credential name');
like($v{'unknown credentialId'}{credentialNameError} // '',
    qr/no credential has this id/, 'unknown credentialId: credentialNameError');
like($v{'credentialId not a uuid'}{credentialNameError} // '',
    qr/\AcredentialId must be a uuid/,
    'credentialId not a uuid: credentialNameError names credentialId');
like($v{'no credential'}{credentialNameError} // '',
    qr/credentialId or credentialName is required/, 'no credential');
like($v{'unknown platform'}{platformNameError} // '',
    qr/\AplatformName is not a known platform/, 'unknown platform');
is_deeply($v{'sshPort out of range'}{errors},
    { sshPort => ['must be between 1 and 65535'] },
    'sshPort: in errors, with the table message');
is(bad($v{'sshPort out of range'}), 1, 'sshPort: only errors');
ok($v{'bad trust action'}{errors}{sshTrustActionType}, 'trust action: in errors');
ok($v{'bad thumbprint'}{errors}{trustedThumbprint}, 'thumbprint: in errors');
ok($v{'source too long'}{errors}{source}, 'source: in errors');
ok($v{'os not a string'}{errors}{os}, 'os: in errors');
ok($v{'accept flag not a bool'}{errors}{acceptThumbprintOnFirstDiscovery},
    'accept flag: in errors');
ok($v{'not an object'}{errors}{'$'}, 'a non-object item: errors on $');
ok(defined $v{'name and IP both bad'}{dnsHostNameError} &&
    defined $v{'name and IP both bad'}{ipAddressError},
    'name and IP both bad: both verdicts');

# The invariant, item by item: all verdicts null <=> POST accepts it.
for my $i (0 .. $#items) {
	my ($name, $in) = @{$items[$i]};
	my $p = post_job(json => [ $in ]);
	push @jobs, $p->{json}{id} if $p->{status} == 200;
	is($p->{status} == 200 ? 'accepted' : 'rejected',
	    bad($got->[$i] // {}) ? 'rejected' : 'accepted',
	    "invariant: $name");
}
# And for the whole body: POST's error paths name exactly the bad items.
{
	my $before = jobs_count();
	my $p = post_job(json => \@sent);
	is($p->{status}, 400, 'POST of the mixed set: 400');
	my %idx = map { /\A\[(\d+)\]/ ? ($1 => 1) : () }
	    keys %{$p->{json}{errors} // {}};
	is_deeply([sort { $a <=> $b } keys %idx],
	    [grep { bad($got->[$_] // {}) } 0 .. $#items],
	    'invariant: POST errors name exactly the items with a verdict');
	is(jobs_count(), $before, 'POST of the mixed set: no job');
}

# ---- hostscanctl import-csv ----

my $HEADER = "DNS Host Name,Operating System,IP Address,Platform,Credential";
my $serial = 0;

sub csv_file {
	my ($bytes, $name) = @_;
	$name //= 'hosts-' . ++$serial . '.csv';
	my $path = "$dir/$name";
	open(my $fh, '>:raw', $path) or die "$path: $!";
	print $fh $bytes;
	close $fh or die "$path: $!";
	return $path;
}

sub import_csv {
	my ($path, @opts) = @_;
	my ($rc, $out, $err) = ctl(['import-csv', $path, @opts]);
	my ($job) = $out =~ /^job ($UUID)$/m;
	push @jobs, $job if $job;
	return ($rc, $out, $err, $job);
}

# "dns|ip|os|platform|credential|source" per host, in order.
sub job_hosts {
	my ($job) = @_;
	return [ split /\n/, psql(<<"SQL") ];
SELECT concat_ws('|', coalesce(h.dns_host_name, '-'),
	coalesce(h.ip_address, '-'), coalesce(replace(h.os, E'\\n', '\\n'), '-'),
	coalesce(p.name, '-'), c.name, h.source)
FROM host_scan_host h JOIN credential c ON c.id = h.credential_id
LEFT JOIN platform p ON p.id = h.platform_id
WHERE h.job_id = '$job' ORDER BY h.ord
SQL
}

subtest 'BOM, CRLF, the product column order' => sub {
	my $f = csv_file("\xef\xbb\xbf$HEADER\r\n"
	    . "bom1.example.test,Debian 12,192.0.2.21,Linux,csv-cred\r\n"
	    . "bom2.example.test,,,,csv-cred\r\n", 'bom crlf.csv');
	my ($rc, $out, $err, $job) = import_csv($f);
	is($rc, 0, 'exit 0') or diag("$out$err");
	like($out, qr/^2 rows: 2 valid, 0 invalid; submitted as one job$/m,
	    'summary');
	ok($job, 'job id printed');
	is_deeply(job_hosts($job // $ZERO), [
	    'bom1.example.test|192.0.2.21|Debian 12|Linux|csv-cred|bom crlf.csv',
	    'bom2.example.test|-|-|-|csv-cred|bom crlf.csv'],
	    'hosts stored: empty cells are null, source is the file name');
	my $who = (getpwuid($>))[0];
	is(psql("SELECT created_by FROM host_scan_job WHERE id = '"
	    . ($job // $ZERO) . "'"), $who,
	    'the minted token names the user who ran it');
	like(psql("SELECT idempotency_key FROM host_scan_job WHERE id = '"
	    . ($job // $ZERO) . "'"), qr/\Aimport-csv-[0-9a-f]{32}\z/,
	    'the POST carried a random Idempotency-Key (retries queue once)');
	unlike("$out$err", qr/v4\.public\./, 'no token printed');
};

subtest 'quoted fields: commas, doubled quotes, line breaks' => sub {
	my $f = csv_file("$HEADER\n"
	    . "q1.example.test,\"Ubuntu, 22.04 \"\"LTS\"\"\nserver\","
	    . "192.0.2.22,Linux,\"csv, \"\"odd\"\" cred\"\n"
	    . "  \"q2.example.test\" ,\"\",192.0.2.23,\"Linux\",csv-cred\n");
	my ($rc, $out, $err, $job) = import_csv($f);
	is($rc, 0, 'exit 0') or diag("$out$err");
	my $src = (split m{/}, $f)[-1];
	is_deeply(job_hosts($job // $ZERO), [
	    "q1.example.test|192.0.2.22|Ubuntu, 22.04 \"LTS\"\\nserver|Linux|"
	    . "$odd_cred|$src",
	    "q2.example.test|192.0.2.23|-|Linux|csv-cred|$src"],
	    'values unquoted exactly');
};

# A proxy in front of nginx that loses the answer to the first POST
# /HostScanJob: the request reaches the API, which queues the job, and the
# client's connection is closed without an answer.  Everything else passes
# through.  One line per request into $log: "METHOD PATH KEY STATUS
# REPLAYED JOB SENT", KEY the Idempotency-Key (- when none), STATUS what
# the API answered, SENT "lost" or "passed".  Returns (pid, its URL).
sub lossy_proxy {
	my ($log) = @_;
	my ($up_host, $up_port) = ($ENV{HOSTSCAN_URL} // '') =~
	    m{\Ahttps?://([^/:]+):(\d+)} or die "HOSTSCAN_URL has no host:port";
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 16, ReuseAddr => 1)
	    or die "proxy: listen: $!";
	my $port = $l->sockport;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		my $lost = 0;
		local $SIG{PIPE} = 'IGNORE';
		open(my $lf, '>>', $log) or POSIX::_exit(1);
		$lf->autoflush(1);
		while (my $c = $l->accept) {
			binmode $c;
			my $req = '';
			while ($req !~ /\r\n\r\n/) {
				sysread($c, $req, 65536, length $req) or last;
			}
			my ($head, $body) = split /\r\n\r\n/, $req, 2;
			my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
			$body //= '';
			while (length($body) < ($len // 0)) {
				sysread($c, $body, 65536, length $body) or last;
			}
			my ($method, $path) = $head =~ /\A(\S+) (\S+)/;
			my ($key) = $head =~ /^Idempotency-Key:\s*(\S+)/mi;
			$head =~ s/^Connection:[^\r\n]*\r\n//mig;
			$head =~ s{\A(\S+ \S+) HTTP/1\.1}{$1 HTTP/1.0};
			my $up = IO::Socket::INET->new(PeerAddr => $up_host,
			    PeerPort => $up_port, Proto => 'tcp')
			    or POSIX::_exit(2);
			binmode $up;
			print $up "$head\r\nConnection: close\r\n\r\n$body";
			my $ans = '';
			1 while sysread($up, $ans, 65536, length $ans);
			close $up;
			my ($st) = $ans =~ m{\AHTTP/\d\.\d (\d{3})};
			my $replayed = $ans =~ /^Idempotent-Replayed:\s*true/mi ?
			    'replayed' : 'new';
			my (undef, $ab) = split /\r\n\r\n/, $ans, 2;
			my $job = eval { $J->decode($ab // '')->{id} } // '-';
			$job = '-' if ref $job;
			my $lose = $method eq 'POST' && $path =~
			    m{\A/api/v1/HostScanJob/?\z} && !$lost++;
			print $c $ans unless $lose;
			close $c;
			printf $lf "%s %s %s %s %s %s %s\n", $method, $path,
			    $key // '-', $st // 0, $replayed, $job,
			    $lose ? 'lost' : 'passed';
		}
		POSIX::_exit(0);
	}
	close $l;
	return ($pid, "http://127.0.0.1:$port");
}

subtest 'a lost answer: the retry reuses the key and queues one job' => sub {
	my $name = "retry-$$.csv";
	my $f = csv_file("$HEADER\n"
	    . "rt1.example.test,,192.0.2.91,Linux,csv-cred\n"
	    . "rt2.example.test,,192.0.2.92,Linux,csv-cred\n", $name);
	my $log = "$dir/proxy-$$.log";
	my ($proxy, $url) = lossy_proxy($log);
	my ($rc, $out, $err) = ctl(['import-csv', $f],
	    env => { HOSTSCAN_URL => $url });
	kill 'TERM', $proxy;
	waitpid($proxy, 0);
	my ($job) = $out =~ /^job ($UUID)$/m;
	push @jobs, $job if $job;
	is($rc, 0, 'exit 0 after the retry') or diag("$out$err");
	like($err, qr/POST \/HostScanJob got no answer; retrying in 2 s \(the same Idempotency-Key, so no second job\)/,
	    'it said it retries, and why');
	my @posts = map { [split ' '] } grep { m{\APOST /api/v1/HostScanJob }
	    } split /\n/, HS::slurp($log);
	is(scalar @posts, 2, 'two POSTs /HostScanJob reached the API')
	    or diag(HS::slurp($log));
	my ($p1, $p2) = map { $_ // [] } @posts[0, 1];
	like($p1->[2] // '', qr/\Aimport-csv-[0-9a-f]{32}\z/,
	    'the first carried an Idempotency-Key');
	is($p2->[2], $p1->[2], 'the retry carried the same key');
	is_deeply([@{$p1}[3, 4, 6]], [200, 'new', 'lost'],
	    'the first queued a job; its answer was lost');
	is_deeply([@{$p2}[3, 4, 6]], [200, 'replayed', 'passed'],
	    'the retry got that job back as a replay');
	is($p2->[5], $p1->[5], 'the same job id both times');
	is($job, $p1->[5], 'the job printed is the one the first POST queued');
	is(psql('SELECT count(*) FROM host_scan_job WHERE idempotency_key = '
	    . sql_quote($p1->[2] // '-')), 1, 'one job holds the key');
	is(psql('SELECT count(DISTINCT job_id) || \'/\' || count(*) FROM'
	    . ' host_scan_host WHERE source = ' . sql_quote($name)), '1/2',
	    'the file\'s two hosts were queued once, in one job');
};

subtest 'reordered columns, any case, an extra column' => sub {
	my $f = csv_file(" credential ,Notes,ip address,PLATFORM,"
	    . "Operating System,dns host name\n"
	    . "csv-cred,ignored,192.0.2.24,Linux,Alpine,r1.example.test\n");
	my ($rc, $out, $err, $job) = import_csv($f);
	is($rc, 0, 'exit 0') or diag("$out$err");
	like($err, qr/column 2 "Notes" is not one of hostscan's; ignored/,
	    'the extra column is mentioned');
	my $src = (split m{/}, $f)[-1];
	is_deeply(job_hosts($job // $ZERO),
	    ["r1.example.test|192.0.2.24|Alpine|Linux|csv-cred|$src"],
	    'columns found by name');
};

# A file that cannot be read whole: exit 1, nothing validated or queued.
sub refused {
	my ($name, $bytes, $re) = @_;
	subtest $name => sub {
		my $before = jobs_count();
		my ($rc, $out, $err, $job) = import_csv(csv_file($bytes));
		is($rc, 1, 'exit 1');
		like($err, $re, 'says why');
		ok(!$job, 'no job id');
		is(jobs_count(), $before, 'no job created');
	};
}

refused('missing columns', "DNS Host Name,IP Address,Credential\n"
    . "m.example.test,192.0.2.1,csv-cred\n",
    qr/the header lacks the columns "Operating System", "Platform"/);
refused('a column twice', "$HEADER,ip address\n",
    qr/column "IP Address" appears twice/);
refused('unterminated quote', "$HEADER\n"
    . "u1.example.test,,192.0.2.1,Linux,csv-cred\n"
    . "\"u2.example.test,,192.0.2.2,Linux,csv-cred\n"
    . "u3.example.test,,192.0.2.3,Linux,csv-cred\n",
    qr/row 3 \(line 3\): a quoted field is never closed/);
refused('invalid UTF-8', "$HEADER\n"
    . "ok.example.test,,192.0.2.1,Linux,csv-cred\n\n"
    . "latin1.example.test,R\xe9seau,192.0.2.2,Linux,csv-cred\n",
    qr/row 4: the row is not valid UTF-8/);
refused('a stray quote', "$HEADER\nab\"c,,192.0.2.1,Linux,csv-cred\n",
    qr/row 2: a quote inside an unquoted field/);
refused('UTF-16', "\xff\xfeD\0N\0S\0", qr/UTF-16/);
refused('an empty file', '', qr/empty file/);
refused('only a header', "$HEADER\r\n\r\n", qr/no host rows/);

subtest '--credential fills empty Credential cells only' => sub {
	my $f = csv_file("$HEADER\n"
	    . "c1.example.test,,192.0.2.31,Linux,\n"
	    . "c2.example.test,,192.0.2.32,Linux,csv-cred2\n");
	my ($rc, $out, $err, $job) = import_csv($f, '--credential', 'csv-cred');
	is($rc, 0, 'exit 0') or diag("$out$err");
	is_deeply([map { (split /\|/)[4] } @{job_hosts($job // $ZERO)}],
	    ['csv-cred', 'csv-cred2'], 'credentials');
	($rc, $out) = import_csv($f);
	is($rc, 1, 'without --credential the first row is invalid');
	like($out, qr/^2\s+Credential\s+credentialId or credentialName is required/m,
	    'and the table says so');
};

subtest 'errors table, exit 1, the valid rows submitted' => sub {
	my $f = csv_file("$HEADER\n"
	    . "t2.example.test,,192.0.2.41,Linux,csv-cred\n"
	    . "t3.example.test,,999.1.1.1,Linux,csv-cred\n"
	    . "t4.example.test,,192.0.2.43,Plan9,csv-cred\n"
	    . "\n"
	    . ",Debian,,Linux,csv-cred\n"
	    . "t7.example.test,,192.0.2.47,Linux,csv-nobody\n"
	    . "t8.example.test,Ubuntu, 22.04,192.0.2.48,Linux,csv-cred\n"
	    . ",,,,\n"
	    . "t10.example.test,,192.0.2.50,,csv-cred\n");
	my ($rc, $out, $err, $job) = import_csv($f);
	is($rc, 1, 'exit 1') or diag("$out$err");
	my @lines = grep { /^\d+ {2,}/ } split /\n/, $out;
	s/\s+/ /g for @lines;
	is_deeply(\@lines, [
	    '3 IP Address ipAddress must be an IPv4 or IPv6 address.',
	    '4 Platform platformName is not a known platform (names are '
	    . 'matched exactly, e.g. Linux, Windows).',
	    '6 DNS Host Name dnsHostName or ipAddress is required.',
	    '6 IP Address dnsHostName or ipAddress is required.',
	    '7 Credential no credential has this name.',
	    '8 - has 6 fields but the header has 5 (quote a value that holds '
	    . 'a comma)'], 'one line per problem: row, column, message')
	    or diag($out);
	like($out, qr/^row\s+column\s+message$/m, 'table header');
	like($out, qr/^7 rows: 2 valid, 5 invalid; the valid rows were submitted/m,
	    'summary');
	ok($job, 'job id printed');
	is_deeply([map { (split /\|/)[0] } @{job_hosts($job // $ZERO)}],
	    ['t2.example.test', 't10.example.test'],
	    'the job holds the valid rows, in file order');
};

subtest 'no valid row: nothing submitted' => sub {
	my $before = jobs_count();
	my ($rc, $out, $err, $job) = import_csv(csv_file("$HEADER\n"
	    . "bad_name,,,Linux,csv-cred\n"));
	is($rc, 1, 'exit 1');
	like($out, qr/^1 row: 0 valid, 1 invalid; no valid row, nothing submitted$/m,
	    'summary');
	is(jobs_count(), $before, 'no job');
};

subtest '--dry-run' => sub {
	my $before = jobs_count();
	my $f = csv_file("$HEADER\nd1.example.test,,192.0.2.61,Linux,csv-cred\n");
	my ($rc, $out, $err, $job) = import_csv($f, '--dry-run');
	is($rc, 0, 'valid file: exit 0') or diag("$out$err");
	like($out, qr/nothing submitted \(--dry-run\)/, 'says so');
	ok(!$job, 'no job id');
	($rc, $out) = import_csv(csv_file("$HEADER\nd1.example.test,,1.2.3,"
	    . "Linux,csv-cred\n"), '--dry-run');
	is($rc, 1, 'invalid row: exit 1');
	like($out, qr/^2\s+IP Address\s+ipAddress must be/m, 'table');
	is(jobs_count(), $before, 'no job created');
};

subtest 'HOSTSCAN_TOKEN' => sub {
	my $f = csv_file("$HEADER\ne1.example.test,,192.0.2.71,Linux,csv-cred\n");
	my $app = token(roles => 'App', sub => 'csv-env-token');
	my ($rc, $out, $err) = ctl(['import-csv', $f],
	    env => { HOSTSCAN_TOKEN => $app });
	is($rc, 0, 'an App token from the environment: exit 0')
	    or diag("$out$err");
	my ($job) = $out =~ /^job ($UUID)$/m;
	push @jobs, $job if $job;
	is(psql("SELECT created_by FROM host_scan_job WHERE id = '"
	    . ($job // $ZERO) . "'"), 'csv-env-token', 'the job is its subject\'s');
	unlike("$out$err", qr/\Q$app\E/, 'the token is not printed');
	my $user = token(roles => 'User', sub => 'csv-env-user');
	($rc, $out, $err) = ctl(['import-csv', $f],
	    env => { HOSTSCAN_TOKEN => $user });
	is($rc, 1, 'a User token: exit 1');
	like($err, qr/the API answered 403/, 'says 403');
	unlike("$out$err", qr/\Q$user\E/, 'the token is not printed');
	($rc, $out, $err) = ctl(['import-csv', $f],
	    env => { HOSTSCAN_URL => 'http://127.0.0.1:1' });
	is($rc, 1, 'API unreachable: exit 1');
	like($err, qr{127\.0\.0\.1:1/api/v1/HostScanJob/ValidateImportedCSV},
	    'names the URL');
};

subtest 'usage' => sub {
	my ($rc, $out, $err) = ctl(['import-csv']);
	is($rc, 2, 'no FILE: 2');
	($rc) = ctl(['import-csv', 'a.csv', 'b.csv']);
	is($rc, 2, 'two FILEs: 2');
	($rc, $out, $err) = ctl(['import-csv', '--bogus', 'a.csv']);
	is($rc, 2, 'unknown option: 2');
	($rc, $out, $err) = ctl(['import-csv', '--dry-run', '--watch', 'a.csv']);
	is($rc, 2, '--dry-run with --watch: 2');
	($rc, $out, $err) = ctl(['import-csv', "$dir/no-such.csv"]);
	is($rc, 1, 'missing file: 1');
	like($err, qr/No such file/, 'says so');
};

subtest '--watch follows the job to its end' => sub {
	my $f = csv_file("$HEADER\nw1.example.test,,192.0.2.81,Linux,csv-cred\n",
	    'watch-' . $$ . '.csv');
	my $log = "$dir/watch.out";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', $log) or POSIX::_exit(126);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
		exec($ENV{HOSTSCANCTL}, 'import-csv', $f, '--watch')
		    or POSIX::_exit(127);
	}
	my $job;
	ok(wait_for(sub {
		$job = psql("SELECT job_id FROM host_scan_host WHERE source = "
		    . sql_quote("watch-$$.csv") . " LIMIT 1");
		return length $job;
	}, 20), 'the job was created');
	push @jobs, $job if $job;
	# No scheduler here: the test plays it, under a lease of its own.
	psql("UPDATE host_scan_host SET state = 2, locked_by = 't25-csv',"
	    . " status_description = 'scanned by the test' WHERE job_id = "
	    . sql_quote($job)) if $job;
	my $st = wait_exit($pid, 30);
	unless (defined $st) {
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
	is($st, 0, 'exit 0 once every host ended');
	my $text = do { local (@ARGV, $/) = ($log); <> } // '';
	like($text, qr/^job $UUID: 1 hosts, 1 complete, 0 failed/m,
	    'job watch output') or diag($text);
};

subtest '10 000 rows: one job of 10 000 hosts, in seconds' => sub {
	my $rows = join '', map {
		"big$_.example.test,,10.1." . int($_ / 250) . '.' . ($_ % 250 + 1)
		    . ",Linux,csv-cred\r\n"
	} 0 .. 9999;
	my $f = csv_file("$HEADER\r\n$rows");
	my $t0 = Time::HiRes::time();
	my ($rc, $out, $err, $job) = import_csv($f);
	my $dt = Time::HiRes::time() - $t0;
	is($rc, 0, 'exit 0') or diag("$out$err");
	like($out, qr/^10000 rows: 10000 valid, 0 invalid/m, 'summary');
	is(psql("SELECT count(*) FROM host_scan_host WHERE job_id = '"
	    . ($job // $ZERO) . "'"), 10000, 'one job holds all 10 000 hosts');
	diag(sprintf('import-csv of 10 000 rows: %.2f s', $dt));
	cmp_ok($dt, '<', HS::scaled(15), 'in seconds');
	my ($rc2, $out2) = import_csv(csv_file("$HEADER\r\n$rows"
	    . "one.more.example.test,,10.2.0.1,Linux,csv-cred\r\n"));
	is($rc2, 1, '10 001 rows: refused');
};

done_testing();
