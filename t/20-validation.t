#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Every validation rule of HostScanJobRequest (docs/openapi.yaml), one
# POST each: the exact errors key it yields, that a rejected POST leaves
# no job behind, and what an accepted variant stores.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS;
use Test::More;
use JSON::PP ();

need_services();

my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;
my $ZERO = '00000000-0000-0000-0000-000000000000';
my $TITLE = 'One or more validation errors occurred.';
my $J = JSON::PP->new->utf8->allow_nonref->canonical;

my $tok = token(roles => 'App', sub => 'validation-test');
my $cred = credential(name => 'validation-cred', username => 'scanner',
    secret => 'validation-secret');
my $base = host_item(dnsHostName => 'v.validation.example.test',
    ipAddress => '127.0.0.1', credentialId => $ZERO,
    credentialName => 'validation-cred', platformName => 'Linux',
    sshPort => 22);

sub body { my ($r) = @_; return eval { $J->decode($r->{content}) } }

# One item as JSON text: the valid base item, with each (field, raw JSON
# text) pair written first exactly as given (undef drops the field), so
# types and duplicates are under the test's control.
sub item {
	my (@pairs) = @_;
	my %b = %$base;
	my @extra;
	while (my ($k, $raw) = splice(@pairs, 0, 2)) {
		delete $b{$k};
		push @extra, $J->encode($k) . ':' . $raw if defined $raw;
	}
	my $txt = $J->encode(\%b);
	return $txt unless @extra;
	my $rest = substr($txt, 1);
	return '{' . join(',', @extra) . ($rest eq '}' ? '' : ',') . $rest;
}

sub str { return $J->encode($_[0]) }

sub post_raw {
	my ($text) = @_;
	return api(POST => '/api/v1/HostScanJob', token => $tok, body => $text,
	    headers => {'Content-Type' => 'application/json'});
}

sub counts {
	return psql('SELECT (SELECT count(*) FROM host_scan_job) || \'/\' ||'
	    . ' (SELECT count(*) FROM host_scan_host)');
}

sub validation_problem {
	my ($r, $keys) = @_;
	is($r->{status}, 400, 'status 400');
	like($r->{headers}{'content-type'} // '',
	    qr{\Aapplication/problem\+json\s*(?:;.*)?\z},
	    'Content-Type application/problem+json');
	my $b = body($r);
	is(ref $b, 'HASH', 'body is a problem object');
	$b = {} unless ref $b eq 'HASH';
	is($b->{title}, $TITLE, 'validation title');
	is($b->{status}, 400, 'problem status 400');
	ok(defined $b->{traceId} && !ref $b->{traceId} && length $b->{traceId},
	    'non-empty traceId');
	my $errs = ref $b->{errors} eq 'HASH' ? $b->{errors} : {};
	is_deeply([sort keys %$errs], [sort @$keys], 'errors keys: ' . join(' ', @$keys))
	    if $keys;
	for my $k (sort keys %$errs) {
		my $m = $errs->{$k};
		ok(ref $m eq 'ARRAY' && @$m && !grep({ !defined || ref || !length } @$m),
		    "errors{$k} is a non-empty list of messages");
	}
	return $errs;
}

# A rejected body: its exact errors keys, and nothing stored.
sub rejects {
	my ($name, $text, @keys) = @_;
	my $errs;
	subtest $name => sub {
		my $before = counts();
		my $r = post_raw($text);
		$errs = validation_problem($r, @keys ? \@keys : undef);
		ok(%$errs, 'errors is not empty') unless @keys;
		is(counts(), $before, 'no job and no host row was created');
	};
	return $errs;
}

# An accepted body: 200 Queued; returns the first stored host row.
sub accepts {
	my ($name, $text) = @_;
	my $row = {};
	subtest $name => sub {
		my $r = post_raw($text);
		is($r->{status}, 200, 'status 200')
		    or diag($r->{content});
		my $b = body($r) // {};
		is(ref $b eq 'HASH' ? $b->{status} : undef, 'Queued', 'job Queued');
		return unless ref $b eq 'HASH' && ($b->{id} // '') =~ $UUID;
		$row = $J->decode(psql(<<"SQL"));
SELECT coalesce(row_to_json(t), '{}') FROM (SELECT h.*, p.name AS platform
	FROM host_scan_host h LEFT JOIN platform p ON p.id = h.platform_id
	WHERE h.job_id = '$b->{id}' ORDER BY h.ord LIMIT 1) t
SQL
	};
	return $row;
}

sub one { return '[' . item(@_) . ']' }

# ---- the product documentation's example body ----

my $doc = '[{"dnsHostName":"string","ipAddress":"string","os":"string",'
    . '"credentialId":"f568fec0-10b6-4b94-9daf-e62c50c9bf3e",'
    . '"credentialName":"string","platformName":"string",'
    . '"acceptThumbprintOnFirstDiscovery":true,"sshTrustActionType":null,'
    . '"certificateType":null,"trustedThumbprint":"string","sshPort":0,'
    . '"source":"string"}]';
rejects('product documentation example body', $doc,
    '[0].ipAddress', '[0].credentialId', '[0].platformName',
    '[0].trustedThumbprint');
(my $doc_ok = $doc) =~ s/f568fec0-10b6-4b94-9daf-e62c50c9bf3e/$cred/;
$doc_ok =~ s/"ipAddress":"string"/"ipAddress":"127.0.0.1"/;
$doc_ok =~ s/"platformName":"string"/"platformName":"Linux"/;
$doc_ok =~ s/"trustedThumbprint":"string"/"trustedThumbprint":null/;
my $row = accepts('product documentation example made valid', $doc_ok);
is($row->{credential_id}, $cred, 'documentation example: credentialId used');
is($row->{ssh_port}, 22, 'documentation example: sshPort 0 stored as 22');

# ---- sshPort ----

for my $v ('-1', '65536', '"22"', '22.5', 'true', '{}', '[22]') {
	rejects("sshPort $v rejected", one(sshPort => $v), '[0].sshPort');
}
is(accepts('sshPort 0 accepted', one(sshPort => '0'))->{ssh_port}, 22,
    'sshPort 0 stored as 22');
is(accepts('sshPort null accepted', one(sshPort => 'null'))->{ssh_port}, 22,
    'sshPort null stored as 22');
is(accepts('sshPort absent accepted', one(sshPort => undef))->{ssh_port}, 22,
    'absent sshPort stored as 22');
is(accepts('sshPort 1 accepted', one(sshPort => '1'))->{ssh_port}, 1,
    'sshPort 1 stored');
is(accepts('sshPort 65535 accepted', one(sshPort => '65535'))->{ssh_port},
    65535, 'sshPort 65535 stored');

# ---- dnsHostName / ipAddress ----

my $l63 = 'a' x 63;
my $n253 = join('.', 'a' x 63, 'b' x 63, 'c' x 63, 'd' x 61);
my $n254 = join('.', 'a' x 63, 'b' x 63, 'c' x 63, 'd' x 62);
is(length $n253, 253, 'fixture: 253-char name');
for my $c (['-bad', 'leading hyphen'], ['a..b', 'empty label'],
    ['bad-.example.test', 'trailing hyphen in a label'],
    [('a' x 64) . '.example.test', '64-char label'], [$n254, '254 chars'],
    ['under_score.example.test', 'underscore'], ['sp ace.example.test', 'space'],
    ['.', 'a lone dot']) {
	rejects("dnsHostName rejected: $c->[1]", one(dnsHostName => str($c->[0])),
	    '[0].dnsHostName');
}
rejects('dnsHostName of the wrong type (number) rejected',
    one(dnsHostName => '42'), '[0].dnsHostName');
accepts('dnsHostName with a 63-char label accepted',
    one(dnsHostName => str("$l63.example.test")));
is(accepts('dnsHostName of 253 chars accepted', one(dnsHostName => str($n253)))
    ->{dns_host_name}, $n253, 'dnsHostName of 253 chars stored');
accepts('dnsHostName with digits and hyphens accepted',
    one(dnsHostName => str('1host-2.example-test.org')));
rejects('neither dnsHostName nor ipAddress (null)',
    one(dnsHostName => 'null', ipAddress => 'null'), '[0].dnsHostName');
# An empty string counts as absent (as CSV rows and product clients send it).
{
	my $r = accepts('empty dnsHostName with an ipAddress accepted',
	    one(dnsHostName => '""', ipAddress => '"10.1.2.4"'));
	ok(exists $r->{dns_host_name} && !defined $r->{dns_host_name},
	    'empty dnsHostName stored as null');
}
rejects('neither dnsHostName nor ipAddress (empty strings)',
    one(dnsHostName => '""', ipAddress => '""'), '[0].dnsHostName');
rejects('neither dnsHostName nor ipAddress (absent)',
    one(dnsHostName => undef, ipAddress => undef), '[0].dnsHostName');
is(accepts('ipAddress only accepted',
    one(dnsHostName => 'null', ipAddress => '"10.1.2.3"'))->{ip_address},
    '10.1.2.3', 'ipAddress only: stored');
for my $v ('999.1.1.1', '1.2.3', 'fe80::1%eth0', '1.2.3.4/24', 'host.example',
    '::g') {
	rejects("ipAddress $v rejected", one(ipAddress => str($v)), '[0].ipAddress');
}
is(accepts('ipAddress ::1 accepted', one(ipAddress => '"::1"'))->{ip_address},
    '::1', 'ipAddress ::1 stored');

# ---- credential ----

rejects('credentialId not a uuid', one(credentialId => '"nope"'),
    '[0].credentialId');
rejects('credentialId of no credential',
    one(credentialId => str('0d9c9a4e-51e7-4f53-9c1e-0123456789ab'),
    credentialName => 'null'), '[0].credentialId');
rejects('all-zero credentialId with an unknown credentialName',
    one(credentialId => str($ZERO),
    credentialName => '"no-such-credential-validation"'), '[0].credentialName');
{
	# validate.c's one_of rule puts the error on credentialName.
	my $errs = rejects('no credential at all',
	    one(credentialId => undef, credentialName => undef),
	    '[0].credentialName');
	is_deeply($errs->{'[0].credentialName'},
	    ['credentialId or credentialName is required'],
	    'no credential at all: the message names both fields');
}
is(accepts('credentialId of an existing credential accepted',
    one(credentialId => str($cred), credentialName => 'null'))->{credential_id},
    $cred, 'credentialId stored');
is(accepts('credentialName with absent credentialId accepted',
    one(credentialId => undef, credentialName => '"validation-cred"'))
    ->{credential_id}, $cred, 'credentialName resolved to its id');

# ---- platformName ----

rejects('platformName of the wrong case (linux) rejected',
    one(platformName => '"linux"'), '[0].platformName');
rejects('unknown platformName rejected', one(platformName => '"Plan 9"'),
    '[0].platformName');
is(accepts('platformName Linux accepted', one(platformName => '"Linux"'))
    ->{platform}, 'Linux', 'platformName Linux stored');
is(accepts('platformName "Palo Alto" accepted',
    one(platformName => '"Palo Alto"'))->{platform}, 'Palo Alto',
    'platformName with a space stored');
{
	my $r = accepts('platformName null accepted', one(platformName => 'null'));
	ok(exists $r->{platform_id} && !defined $r->{platform_id},
	    'platformName null stores no platform');
}

# ---- enums ----

is(accepts('sshTrustActionType name, any case',
    one(sshTrustActionType => '"warnonthumbprintmismatch"'))->{trust_action},
    1, 'sshTrustActionType "warnonthumbprintmismatch" stored as 1');
is(accepts('sshTrustActionType position 1',
    one(sshTrustActionType => '1'))->{trust_action}, 1,
    'sshTrustActionType 1 stored as 1');
is(accepts('sshTrustActionType AlwaysTrustIgnoreThumbprint',
    one(sshTrustActionType => '"AlwaysTrustIgnoreThumbprint"'))->{trust_action},
    0, 'sshTrustActionType AlwaysTrustIgnoreThumbprint stored as 0');
accepts('sshTrustActionType null accepted', one(sshTrustActionType => 'null'));
for my $v ('3', '-1', '"Nope"', 'true', '1.5', '""') {
	rejects("sshTrustActionType $v rejected", one(sshTrustActionType => $v),
	    '[0].sshTrustActionType');
}
is(accepts('certificateType "SSH"', one(certificateType => '"SSH"'))
    ->{certificate_type}, 2, 'certificateType "SSH" stored as 2');
is(accepts('certificateType 2', one(certificateType => '2'))
    ->{certificate_type}, 2, 'certificateType 2 stored as 2');
is(accepts('certificateType "winrm"', one(certificateType => '"winrm"'))
    ->{certificate_type}, 0, 'certificateType "winrm" stored as 0');
for my $v ('5', '3', '"SSH2"', 'false') {
	rejects("certificateType $v rejected", one(certificateType => $v),
	    '[0].certificateType');
}

# ---- trustedThumbprint ----

my $sha = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
is(length($sha), 7 + 43, 'fixture: SHA256 fingerprint has 43 base64 chars');
is(accepts('trustedThumbprint SHA256:<43 base64>',
    one(trustedThumbprint => str($sha)))->{trusted_thumbprint}, $sha,
    'SHA256 thumbprint stored as sent');
my $md5 = 'MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e';
is(lc(accepts('trustedThumbprint MD5:<16 hex pairs>',
    one(trustedThumbprint => str($md5)))->{trusted_thumbprint} // ''), lc($md5),
    'MD5 thumbprint stored');
my $hex = 'A909502DD82AE41433E6F83886B00D4277A32A7B';
for my $c (['a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b', 'spaces'],
    ['A9:09:50:2D:D8:2A:E4:14:33:E6:F8:38:86:B0:0D:42:77:A3:2A:7B', 'colons'],
    ["\xe2\x80\x8ea909502dd82ae41433e6f83886b00d4277a32a7b", 'leading U+200E'],
    [$hex, 'plain']) {
	my $raw = $c->[0] =~ /\xe2/ ? qq{"$c->[0]"} : str($c->[0]);
	is(accepts("trustedThumbprint 40 hex with $c->[1]",
	    one(trustedThumbprint => $raw))->{trusted_thumbprint}, $hex,
	    "40-hex thumbprint with $c->[1] stored as 40 upper-case hex");
}
for my $v ('SHA1:abc', 'SHA256:abc', 'MD5:d4:1d', substr($hex, 1), "${hex}00",
    'G' x 40) {
	rejects("trustedThumbprint $v rejected", one(trustedThumbprint => str($v)),
	    '[0].trustedThumbprint');
}

# ---- strings: lengths, NUL, types ----

rejects('source of 257 chars rejected', one(source => str('s' x 257)),
    '[0].source');
is(accepts('source of 256 chars accepted', one(source => str('s' x 256)))
    ->{source}, 's' x 256, 'source of 256 chars stored');
rejects('os of 1025 chars rejected', one(os => str('o' x 1025)), '[0].os');
accepts('os of 1024 chars accepted', one(os => str('o' x 1024)));
for my $f (qw(os source dnsHostName)) {
	my $errs = rejects("$f with U+0000 rejected", one($f => '"ab\u0000cd"'),
	    "[0].$f");
	ok(grep({ /must not contain NUL/ } @{$errs->{"[0].$f"} // []}),
	    "$f with U+0000: message says it must not contain NUL");
}
rejects('acceptThumbprintOnFirstDiscovery "yes" rejected',
    one(acceptThumbprintOnFirstDiscovery => '"yes"'),
    '[0].acceptThumbprintOnFirstDiscovery');
rejects('acceptThumbprintOnFirstDiscovery 1 rejected',
    one(acceptThumbprintOnFirstDiscovery => '1'),
    '[0].acceptThumbprintOnFirstDiscovery');
ok(accepts('acceptThumbprintOnFirstDiscovery true accepted',
    one(acceptThumbprintOnFirstDiscovery => 'true'))->{accept_first},
    'acceptThumbprintOnFirstDiscovery true stored');
rejects('os of the wrong type rejected', one(os => '["Linux"]'), '[0].os');
rejects('source of the wrong type rejected', one(source => '7'), '[0].source');
accepts('unknown fields are ignored',
    one(fooBar => '{"x":[1,2,{"y":null}]}', hostScanJobId => '"x"', zz => '1e3'));
rejects('duplicate key in an item rejected',
    '[' . item(sshPort => '22', sshPort => '23') . ']', '$');

# ---- the body as a whole ----

for my $c (['{}', 'an object'], ['"x"', 'a string'], ['1', 'a number'],
    ['null', 'null'], ['[]', 'an empty array']) {
	rejects("body $c->[1] rejected at \$", $c->[0], '$');
}
rejects('truncated JSON rejected at $', '[' . substr(item(), 0, 30), '$');
rejects('trailing garbage after the array rejected at $', one() . ' x', '$');
{
	my $errs = rejects('an item that is not an object rejected',
	    '[' . item() . ',1]');
	is_deeply($errs->{'[1]'}, ['must be an object'],
	    'a non-object item: "[1]" says it must be an object');
	is_deeply([grep { !/\A\[1\]/ } sort keys %$errs], [],
	    'a non-object item: no error on the good item');
}
rejects('invalid UTF-8 inside a string rejected',
    '[' . item(os => qq{"ab\xff\xfecd"}) . ']', '$');
rejects('overlong UTF-8 encoding rejected',
    '[' . item(os => qq{"\xc0\xaf"}) . ']', '$');
{
	my $it = item();
	rejects('10 001 hosts rejected at $ (default max 10 000)',
	    '[' . join(',', ($it) x 10001) . ']', '$');
}

# ---- error keys carry the item index; one bad item stores nothing ----

rejects('third item with a bad sshPort: key [2].sshPort',
    '[' . join(',', item(), item(), item(sshPort => '70000')) . ']',
    '[2].sshPort');
rejects('bad fields in items 0 and 2: both keyed by index',
    '[' . join(',', item(os => str('o' x 1025)), item(),
    item(ipAddress => '"300.0.0.1"')) . ']', '[0].os', '[2].ipAddress');
rejects('second item with an unknown credentialName: key [1].credentialName',
    '[' . join(',', item(), item(credentialId => str($ZERO),
    credentialName => '"no-such-credential-validation"'), item()) . ']',
    '[1].credentialName');
rejects('third item with an unknown platform: key [2].platformName',
    '[' . join(',', item(), item(), item(platformName => '"Windoze"')) . ']',
    '[2].platformName');

done_testing();
