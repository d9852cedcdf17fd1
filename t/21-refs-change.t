# SPDX-License-Identifier: ISC
# A responder worker remembers the credentials and platforms POSTs named
# (one statement per POST), yet a credential's change is seen by the
# next POST: a narrowed scope refuses, a widened one admits, a renamed
# credential is unknown by its old name and known by its new one.  One
# worker, so every POST meets what the one before left in its memory.
use strict;
use warnings;

use JSON::PP ();
use Test::More;

use HS;

need_services();

my $run = "$$-" . time;
my $name = "t21-cred-$run";
my $renamed = "t21-renamed-$run";
my $REFUSED = "is not allowed for this host: neither its dnsHostName nor "
    . "its ipAddress is in the credential's scope";
my $J = JSON::PP->new->utf8;
my $tok = token(roles => 'App', sub => "t21-$run");
credential(name => $name, username => 'scanner', scope => '127.0.0.0/8');

my $resp = start_responder(workers => 1);
my $web = nginx_for_socket($resp->{socket});

sub post {
	my ($cred) = @_;
	my $r = api(POST => '/api/v1/HostScanJob', url => $web->{url},
	    token => $tok, json => [host_item(dnsHostName => undef,
	    ipAddress => '127.0.0.21', credentialName => $cred,
	    platformName => 'Linux')]);
	my $b = eval { $J->decode($r->{content}) } // {};
	return ($r->{status}, $b->{errors} // {});
}

sub scope {
	my ($list) = @_;
	my ($rc, $out, $err) = ctl(['credential', 'scope', $name, $list]);
	is($rc, 0, "credential scope $list") or diag $err;
}

my ($st, $err) = post($name);
is($st, 200, 'in scope: queued');
($st, $err) = post($name);
is($st, 200, 'again, from what the worker remembers');

scope('10.0.0.0/8');
($st, $err) = post($name);
is($st, 400, 'scope narrowed: the next POST is refused');
is_deeply($err, { '[0].credentialName' => [$REFUSED] },
    '... on the credential, for its scope');

scope('any');
($st, $err) = post($name);
is($st, 200, 'scope widened again: the next POST is queued');

is(psql('UPDATE credential SET name = ' . HS::sql_quote($renamed)
    . ' WHERE name = ' . HS::sql_quote($name) . ' RETURNING 1'), '1',
    'credential renamed');
($st, $err) = post($name);
is($st, 400, 'the old name is refused');
is_deeply($err, { '[0].credentialName' => ['no credential has this name'] },
    '... as unknown');
($st, $err) = post($renamed);
is($st, 200, 'the new name is queued');

# An id the worker does not know yet wins over a name it does know: the
# database answers an id before a name, and so must the worker's memory.
my $other = credential(name => "t21-other-$run", username => 'other',
    scope => 'any');
my $r = api(POST => '/api/v1/HostScanJob', url => $web->{url},
    token => $tok, json => [host_item(dnsHostName => undef,
    ipAddress => '127.0.0.21', credentialId => $other,
    credentialName => $renamed, platformName => 'Linux')]);
is($r->{status}, 200, 'credentialId of a credential new to the worker, '
    . 'with the name of one it remembers: queued');
my $job = (eval { $J->decode($r->{content}) } // {})->{id} // '';
is(psql('SELECT credential_id FROM host_scan_host WHERE job_id = '
    . HS::sql_quote($job)), $other, '... with the credential the id names');

stop_nginx($web);
is(stop_responder($resp), 0, 'the responder stops cleanly');
done_testing();
