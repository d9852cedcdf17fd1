# SPDX-License-Identifier: ISC
# t/tools/secret-scan, the search scripts/test runs over a whole run
# directory after the suite: it finds a long secret in any file and a
# short one (a TOTP code) as a whole word in a log, and a short one is
# not "found" in the numbers every log line carries that are never
# secrets (Apache's microseconds, an access log's time, pids).  Needs no
# services; a scratch run directory of its own.
use strict;
use warnings;

use File::Path ();
use File::Temp ();
use FindBin;
use Test::More;

my $scan = ($ENV{HOSTSCAN_SRCDIR} // "$FindBin::Bin/..") . '/t/tools/secret-scan';
my $code = '042917';
my $long = 'Sc4n-L0ng-Secret-t18';

sub run_dir {
	my (%files) = @_;
	my $d = File::Temp::tempdir(CLEANUP => 1);
	open(my $fh, '>', "$d/secrets.list") or die "$d: $!\n";
	print $fh unpack('H*', $code), " t18-code\n";
	print $fh unpack('H*', $long), " t18-long\n";
	close $fh;
	for my $f (keys %files) {
		my $p = "$d/$f";
		File::Path::make_path($p =~ s{/[^/]+\z}{}r);
		open(my $o, '>', $p) or die "$p: $!\n";
		print $o $files{$f};
		close $o;
	}
	return $d;
}

sub scan {
	my ($d) = @_;
	my $out = `perl '$scan' '$d' 2>&1`;
	return ($? >> 8, $out);
}

# Every line holds the code's digits where a log puts a number that is no
# secret: none of these is a hit.
my $clean = run_dir(
    'apache-1/error.log' => "[Wed Dec 02 12:05:46.$code 2026] [core:notice] "
	. "[pid 4242] AH00094: Command line: 'apache2'\n",
    'apache-1/access.log' => "127.0.0.1 - - [02/Dec/2026:12:05:46 +0000] "
	. "\"POST /api/v1/HostScanJob HTTP/1.1\" 200 604 $code\n",
    'resp.log' => "2026-12-02T12:05:46.$code" . "Z hostscan.fcgi pid=$code "
	. "event=db_connected server_version=$code\n",
    'sshd.log' => "Transferred: sent $code, received 4608 bytes\n",
    'patroni.log' => "2026-12-02 12:05:46,$code INFO: no action\n",
    'pg.log' => "2026-12-02 12:05:46.123 UTC [$code] LOG:  checkpoint\n",
);
my ($rc, $out) = scan($clean);
is($rc, 0, 'the code\'s digits as times, sizes, pids and versions: no hit')
    or diag($out);
like($out, qr/2 secrets searched in 6 files: none found/,
    '... both secrets searched in every file');

# The same code where a leak would put it.
for my $leak ("event=signin code=$code", "{\"Code\":\"$code\"}",
    "statement: SELECT '$code'") {
	my $d = run_dir('resp.log' => "2026-12-02T12:05:46Z $leak\n");
	($rc, $out) = scan($d);
	is($rc, 1, "a code in a log is found: $leak");
	like($out, qr/holds a short secret registered by t18-code/,
	    '... and named');
}
my $d = run_dir('apache-1/error.log' =>
    "[Wed Dec 02 12:05:46.123456 2026] [cgi:error] $code\n");
($rc, $out) = scan($d);
is($rc, 1, 'a code after an Apache timestamp is still found');

# A short secret is searched in logs only; a long one everywhere.
$d = run_dir('data/file.bin' => "x${code}x $code\n");
is((scan($d))[0], 0, 'a code outside a *.log is not searched');
$d = run_dir('data/file.bin' => "xx${long}xx");
($rc, $out) = scan($d);
is($rc, 1, 'a long secret inside any file is found');
like($out, qr/t18-long/, '... and named');

done_testing();
