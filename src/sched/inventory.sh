# SPDX-License-Identifier: ISC
# hostscand's inventory script: what it runs on a scanned host, read-only.
#
# invcollect.c feeds it on stdin to "sh -s" over one SSH channel, so the
# login shell never has to parse it and one channel does the whole host,
# with two variables set before it: M, the frame marker ("@@hs-" and a
# random nonce, so no file on the target can forge a frame), and TMO,
# step_timeout in seconds for the commands that could hang.  Every
# section is framed by "M begin NAME" / "M end NAME STATUS" lines, which
# invparse.c looks for; status 77 means "not readable with these rights".
#
# Nothing here writes on the target, and the shadow section prints dates
# and a locked flag, never the hash field.  sudo -n is tried only by
# members of sudo, wheel or admin, so accounts without sudo rights do not
# set off sudo's "not in sudoers" alerts on the target.  Services come
# from the unit files and the .wants/.requires links, not from systemctl,
# which costs a third of a second of CPU per call.
#
# POSIX sh only (dash, busybox ash, bash as sh).  Lines whose first
# non-blank character is "#" are for the reader: the build drops them
# (invscript.c is generated from the rest), so they never travel.  make
# check parses this file with sh -n, and lints it with shellcheck where
# that is installed.
#
# shellcheck shell=sh
# M and TMO come from invcollect.c; $T and $SUDO split into words on
# purpose; the awk programs in single quotes are awk's, not the shell's;
# the id section's status is not read (its end frame is what counts);
# "b done" passes the word done, not the keyword.
# shellcheck disable=SC2154,SC2086,SC2016,SC2320,SC1010
exec 2>/dev/null
LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH
T=; command -v timeout >/dev/null && T="timeout $TMO"
b() { printf '\n%s begin %s\n' "$M" "$1"; }
e() { printf '\n%s end %s %s\n' "$M" "$1" "$2"; }
SUDO=
case " $(id -Gn) " in *' sudo '* | *' wheel '* | *' admin '*)
  [ "$(id -u)" != 0 ] && command -v sudo >/dev/null &&
    sudo -n true >/dev/null 2>&1 && SUDO='sudo -n' ;;
esac
b id; id -u; echo "sudo=${SUDO:+yes}"; e id $?
b os; cat /etc/os-release || cat /usr/lib/os-release; e os $?
b uname; uname -s; uname -r; uname -m; e uname $?
b hostname; $T hostname -f || hostname || cat /proc/sys/kernel/hostname
e hostname $?
b passwd; $T getent passwd || cat /etc/passwd; e passwd $?
b group; $T getent group || cat /etc/group; e group $?
SH='{ print $1 ":" $3 ":" $5 ":" $8 ":" (substr($2, 1, 1) == "!") }'
b shadow
if [ -r /etc/shadow ]; then awk -F: "$SH" /etc/shadow
elif [ -n "$SUDO" ]; then $SUDO awk -F: "$SH" /etc/shadow
else (exit 77); fi
e shadow $?
b units
if [ -d /etc/systemd/system ]; then
  find /etc/systemd/system /run/systemd/system /usr/lib/systemd/system \
    /lib/systemd/system -maxdepth 1 -lname /dev/null |
    sed 's|.*/||; s|$| masked|'
  find /etc/systemd/system /run/systemd/system -mindepth 2 -maxdepth 2 \
    \( -path '*.wants/*' -o -path '*.requires/*' \) |
    sed 's|.*/||; s|$| enabled|'
else (exit 127); fi
e units $?
UA='FNR == 1 { print "F\t" FILENAME }
/^[ \t]*(Description|ExecStart|User|OnCalendar|OnBootSec|OnStartupSec|OnActiveSec|OnUnitActiveSec|OnUnitInactiveSec|Unit)[ \t]*=/ {
  k = $0; sub(/[ \t]*=.*/, "", k); sub(/^[ \t]*/, "", k)
  v = $0; sub(/^[^=]*=[ \t]*/, "", v); print "K\t" k "\t" v }'
b unitfiles
for d in /etc/systemd/system /run/systemd/system \
    /usr/local/lib/systemd/system /usr/lib/systemd/system \
    /lib/systemd/system; do
  [ -d "$d" ] || continue
  find "$d" -maxdepth 1 \( -type f -o -type l \) \( -name '*.service' \
    -o -name '*.timer' \) -exec awk "$UA" {} +
done
e unitfiles 0
b timers
if [ -d /run/systemd/system ]; then
  $T systemctl show --timestamp=unix -p Id -p NextElapseUSecRealtime \
    -p LastTriggerUSec '*.timer' --no-pager
else (exit 127); fi
e timers $?
CA='FNR == 1 { print "F\t" K "\t" FILENAME } { print "L\t" $0 }'
b cron
for f in /etc/crontab /etc/cron.d/*; do
  [ -f "$f" ] &&
    { awk -v K=system "$CA" "$f" || echo "E	unreadable	$f"; }
done
for d in /var/spool/cron/crontabs /var/spool/cron; do
  [ -d "$d" ] || continue
  if [ -r "$d" ] && [ -x "$d" ]; then
    for f in "$d"/*; do
      [ -f "$f" ] && awk -v K=user "$CA" "$f"
    done
  elif [ -n "$SUDO" ]; then
    $SUDO find "$d" -maxdepth 1 -type f -exec awk -v K=user "$CA" {} +
  else echo "E	unreadable	$d"; fi
done
for p in hourly daily weekly monthly; do
  # shellcheck disable=SC2231 # $p is one of the four words above
  for f in /etc/cron.$p/*; do
    [ -f "$f" ] && [ -x "$f" ] && printf 'P\t%s\t%s\n' "$p" "$f"
  done
done
e cron 0
b packages
if command -v dpkg-query >/dev/null; then
  $T dpkg-query -W -f='${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${binary:Summary}\n'
elif command -v rpm >/dev/null; then
  $T rpm -qa --qf 'ii \t%{NAME}\t%{VERSION}-%{RELEASE}\t%{SUMMARY}\n'
else (exit 127); fi
e packages $?
b done; e done 0
