#!/usr/bin/env bash
# A private fail2ban-server for the demo and the tests: Debian's fail2ban package, our
# own config dir, socket, database and log files in DIR, no firewall (dummy or no action).
#
#   scripts/fail2ban-private.sh start DIR      # start it (background), wait until it answers
#   scripts/fail2ban-private.sh stop DIR       # stop it
#   scripts/fail2ban-private.sh attack DIR     # write failed logins from test networks, forever
#
# F2B_STOCK_TREE=1 starts it on a full copy of the stock tree instead.
# F2B_VERSION=0.11.2|1.0.2|1.1.0 picks the fail2ban (default: Debian's package, 1.0.2):
# another version runs through fail2ban-at (FAIL2BAN_AT, default
# ../shared/fail2ban/versions/fail2ban-at beside the project) on that version's own stock
# tree (filters, actions, jail.conf); DIR/bin/fail2ban-client runs its client.
# Jails: sshd (stock sshd filter on DIR/auth.log), web-auth (DIR/web.log, lines
# "<epoch> failure from <ip>"), bulk (same format, no action: fast bulk bans) and
# blocklist-import (no action; filled by BanGUI's blocklist imports).
set -euo pipefail
cmd=${1:?usage: fail2ban-private.sh start|stop|attack DIR}
T=${2:?usage: fail2ban-private.sh start|stop|attack DIR}
mkdir -p "$T"
T=$(cd "$T" && pwd)

version=${F2B_VERSION:-1.0.2}
here=$(cd "$(dirname "$0")" && pwd)
if [ "$version" = 1.0.2 ]; then
  server=(fail2ban-server); client=(fail2ban-client); stock=/etc/fail2ban
else
  at=${FAIL2BAN_AT:-$here/../../shared/fail2ban/versions/fail2ban-at}
  [ -x "$at" ] || at=/work/shared/fail2ban/versions/fail2ban-at
  [ -x "$at" ] || { echo "fail2ban $version needs fail2ban-at (FAIL2BAN_AT): $at not found" >&2; exit 1; }
  server=("$at" "$version" fail2ban-server); client=("$at" "$version" fail2ban-client)
  stock=${FAIL2BAN_AT_CACHE:-$HOME/.cache/fail2ban-at}/fail2ban-$version/config
fi

start() {
  command -v fail2ban-server >/dev/null || { echo "fail2ban is not installed (apt-get install fail2ban)" >&2; exit 1; }
  mkdir -p "$T/conf" "$T/bin"
  # The client of this version, as one program (BANGUI_FAIL2BAN_CLIENT). It brings the
  # HOME and PATH fail2ban-at finds its Python with: the scheduler runs it with its own.
  {
    echo '#!/bin/bash'
    printf 'export HOME=%q PATH=%q"${PATH:+:$PATH}"\n' "$HOME" "$PATH"
    # 0.11.2's client starts the server as `python3 fail2ban-server`: under pyenv, that
    # python3 must be the one fail2ban-at picked (0.11.2 does not run on 3.10+).
    if [ "$version" = 0.11.2 ] && command -v pyenv >/dev/null; then
      pv=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(9|8|7)\.' | tail -1 || true)
      [ -n "$pv" ] && printf 'export PYENV_VERSION=%q\n' "$pv"
    fi
    printf 'exec %s "$@"\n' "$(printf '%q ' "${client[@]}")"
  } > "$T/bin/fail2ban-client"
  chmod +x "$T/bin/fail2ban-client"
  # fail2ban-at unpacks the version's sources on first use: before anything below reads
  # them (a fresh machine has no cache yet), and one test at a time (tests start servers
  # in parallel, and two first uses would unpack over each other).
  if [ "$version" = 1.0.2 ]; then
    "${client[@]}" --version >"$T/version.out" 2>&1 || { cat "$T/version.out" >&2; exit 1; }
  else
    cache=${FAIL2BAN_AT_CACHE:-$HOME/.cache/fail2ban-at}
    mkdir -p "$cache"
    flock "$cache/.bangui-unpack.lock" "${client[@]}" --version >"$T/version.out" 2>&1 \
      || { cat "$T/version.out" >&2; exit 1; }
  fi
  # The Python this version runs on, with its fail2ban package importable (the tests'
  # oracles import fail2ban's own readers with it).
  if [ "$version" = 1.0.2 ]; then
    py=$(sed -n '1s/^#! *//p' "$(command -v fail2ban-client)")
    printf '#!/bin/sh\nexec %s "$@"\n' "$py" > "$T/bin/python"
  else
    py=/usr/bin/python3
    if [ "$version" = 0.11.2 ]; then
      py=$(command -v python3.9 || true)
      if command -v pyenv >/dev/null; then
        pv=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(9|8|7)\.' | tail -1 || true)
        [ -n "$pv" ] && py=$(PYENV_VERSION=$pv pyenv which python3)
      fi
    fi
    src=${FAIL2BAN_AT_CACHE:-$HOME/.cache/fail2ban-at}/fail2ban-$version
    printf '#!/bin/sh\nPYTHONPATH=%q exec %q "$@"\n' "$src" "$py" > "$T/bin/python"
    # Its fail2ban-regex, run by that Python (BANGUI_FAIL2BAN_REGEX: the regex tester
    # runs the code of the program it is given, with the program's #! interpreter).
    { echo "#!$T/bin/python"; tail -n +2 "$src/bin/fail2ban-regex"; } > "$T/bin/fail2ban-regex"
    chmod +x "$T/bin/fail2ban-regex"
  fi
  chmod +x "$T/bin/python"
  # F2B_STOCK_TREE=1: a full copy of Debian's /etc/fail2ban (every stock jail, filter and
  # action, files BanGUI may write), our jails and settings in jail.local over it.
  # Otherwise a small tree of our own with copies of Debian's filters and actions.
  jails_file="$T/conf/jail.conf"
  if [ "${F2B_STOCK_TREE:-0}" = 1 ]; then
    [ -f "$T/conf/jail.conf" ] || cp -r "$stock/." "$T/conf/"
    jails_file="$T/conf/jail.local"
  else
    # Copies, not links: BanGUI writes filters and actions only inside the tree.
    for d in action.d filter.d; do
      [ -L "$T/conf/$d" ] && rm "$T/conf/$d"
      [ -d "$T/conf/$d" ] || cp -r "$stock/$d" "$T/conf/$d"
    done
  fi
  cat > "$T/conf/fail2ban.conf" <<CONF
[Definition]
loglevel   = INFO
logtarget  = $T/fail2ban.log
socket     = $T/f2b.sock
pidfile    = $T/f2b.pid
dbfile     = $T/f2b.sqlite3
dbpurgeage = 1d
allowipv6  = auto
CONF
  cat > "$jails_file" <<CONF
[DEFAULT]
backend    = polling
usedns     = no
ignoreself = false
bantime    = ${F2B_BANTIME:-10m}
findtime   = 10m
maxretry   = 3
action     = dummy[target="$T/dummy-%(__name__)s.txt"]

[sshd]
enabled = true
filter  = sshd
logpath = $T/auth.log

[web-auth]
enabled     = true
filter      =
failregex   = ^\s*failure from <HOST>\$
datepattern = {^LN-BEG}EPOCH
logpath     = $T/web.log
maxretry    = 2

[bulk]
enabled     = true
filter      =
failregex   = ^\s*failure from <HOST>\$
datepattern = {^LN-BEG}EPOCH
logpath     = $T/bulk.log
action      =

[blocklist-import]
enabled     = true
filter      =
failregex   = ^\s*never matches <HOST>\$
datepattern = {^LN-BEG}EPOCH
logpath     = $T/blocklist.log
action      =
bantime     = 1d
CONF
  touch "$T/auth.log" "$T/web.log" "$T/bulk.log" "$T/blocklist.log"
  if [ -S "$T/f2b.sock" ] && "${client[@]}" -s "$T/f2b.sock" ping >/dev/null 2>&1; then
    echo "$T: already running"; return 0
  fi
  # Run from DIR: a relative path fail2ban takes for a file (0.11 on a Python without
  # the systemd module reads the SYSTEMD-JOURNAL log target as one) lands there.
  (cd "$T" && exec "${server[@]}" -f -x -c "$T/conf" -s "$T/f2b.sock" -p "$T/f2b.pid" start) >"$T/server.out" 2>&1 &
  echo $! > "$T/server.bgpid"
  for _ in $(seq 1 100); do
    "${client[@]}" -s "$T/f2b.sock" ping >/dev/null 2>&1 && { echo "$T/f2b.sock"; return 0; }
    sleep 0.1
  done
  echo "fail2ban-server did not start; see $T/server.out and $T/fail2ban.log" >&2
  cat "$T/server.out" >&2 || true
  exit 1
}

stop() {
  "${client[@]}" -s "$T/f2b.sock" stop >/dev/null 2>&1 || true
  if [ -f "$T/server.bgpid" ]; then
    pid=$(cat "$T/server.bgpid")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    rm -f "$T/server.bgpid"
  fi
}

attack() {
  # Failed logins from the documentation networks (RFC 5737, RFC 3849) and, so the map
  # and country charts have something to show, from random addresses of public networks
  # around the world (harmless: the private fail2ban's action only writes a file). A few
  # a second; some IPs persistent enough to be banned; IPv4 and IPv6.
  nets=(1 5 14 27 31 36 37 41 43 45 46 49 58 59 61 77 78 79 80 81 82 85 87 88 89 91 93 94 95 101 103 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 151 152 154 156 160 170 175 176 177 178 179 180 181 182 183 185 186 187 188 189 190 191 193 194 195 196 197 200 201 202 210 211 212 213 217 218 219 220 221 222 223)
  i=0
  while :; do
    i=$((i + 1))
    now=$(date +%s)
    a=$((RANDOM % 250 + 1)); b=$((RANDOM % 250 + 1))
    if [ $((i % 2)) = 0 ]; then
      for user in root admin oracle; do
        echo "$(date '+%b %d %H:%M:%S') demo sshd[$$]: Failed password for invalid user $user from 203.0.113.$a port 22 ssh2" >> "$T/auth.log"
      done
    fi
    printf '%s failure from 198.51.100.%s\n%s failure from 198.51.100.%s\n' "$now" "$b" "$now" "$b" >> "$T/web.log"
    if [ $((i % 3)) = 0 ]; then
      printf '%s failure from 2001:db8:%x::%x\n' "$now" $((RANDOM % 4096)) $((RANDOM % 65535)) >> "$T/web.log"
      printf '%s failure from 2001:db8:%x::%x\n' "$now" $((RANDOM % 4096)) $((RANDOM % 65535)) >> "$T/web.log"
    fi
    echo "$(date '+%b %d %H:%M:%S') demo sshd[$$]: Failed password for root from 192.0.2.$((RANDOM % 250 + 1)) port 22 ssh2" >> "$T/auth.log"
    # A world-wide attacker, persistent enough (4 tries) to be banned.
    ip="${nets[$((RANDOM % ${#nets[@]}))]}.$((RANDOM % 256)).$((RANDOM % 256)).$((RANDOM % 254 + 1))"
    for _ in 1 2 3 4; do
      echo "$(date '+%b %d %H:%M:%S') demo sshd[$$]: Failed password for invalid user admin from $ip port 22 ssh2" >> "$T/auth.log"
    done
    sleep "${ATTACK_PERIOD:-2}"
  done
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  attack) attack ;;
  *) echo "usage: fail2ban-private.sh start|stop|attack DIR" >&2; exit 2 ;;
esac
