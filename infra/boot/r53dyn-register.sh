#!/bin/sh
# r53dyn-register.sh: tell r53dyn that this machine answers (or no longer answers) for a DNS name.
#
#   r53dyn-register.sh register|deregister|heartbeat
#
# It only sends one message to the registrations queue (the machine needs sqs:SendMessage and nothing
# else); the batcher and the workflow decide what Route 53 ends up holding. Settings come from the
# environment, then from R53DYN_ENV_FILE (default /etc/r53dyn.env); see r53dyn.env.example.
#
# With R53DYN_READINESS_COMMAND set, publishing is gated on that command (see README.md beside this
# script): register waits for it to pass, heartbeat runs it and deregisters after
# R53DYN_READINESS_FAILURES failures in a row and registers again when it passes, and a small state file
# (R53DYN_STATE_FILE) remembers the failure count and whether the machine is published.
#
# Exit codes: 0 sent (with a readiness gate: or, rightly, sent nothing), 2 bad configuration, 3 metadata
# unavailable or not usable, 4 could not send, 5 not ready (the readiness command failed: register sent
# nothing; heartbeat sent what the state called for), 6 the readiness state could not be locked or written.

set -u

prog=r53dyn-register
nl='
'

log() { printf '%s: %s\n' "$prog" "$*" >&2; }
fail() {
  fail_code=$1
  shift
  log "$*"
  exit "$fail_code"
}
config_error() { fail 2 "$@"; }
metadata_error() { fail 3 "$@"; }

usage() {
  printf 'usage: %s register|deregister|heartbeat\n' "$0" >&2
  exit 2
}

trim() {
  trim_value=$1
  while :; do
    case $trim_value in
      [[:space:]]*) trim_value=${trim_value#?} ;;
      *) break ;;
    esac
  done
  while :; do
    case $trim_value in
      *[[:space:]]) trim_value=${trim_value%?} ;;
      *) break ;;
    esac
  done
  printf '%s' "$trim_value"
}

# grep -x matches line by line, so a value with a newline could pass on one good line: refuse those first.
matches() {
  case $1 in *"$nl"*) return 1 ;; esac
  printf '%s\n' "$1" | grep -Eqx -- "$2"
}

octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
ipv4_pattern="($octet\\.){3}$octet"
# Loose on purpose: the batcher canonicalises and judges the address; here we only keep JSON safe.
ipv6_pattern='[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*'
ec2_id_pattern='i-([0-9a-f]{8}|[0-9a-f]{17})'
task_id_pattern='[0-9a-f]{32}'

# Environment wins over the file, as with systemd's Environment= after EnvironmentFile=. The file is
# parsed, never sourced, so it cannot run code, and only R53DYN_* and AWS_* names are taken from it.
load_env_file() {
  env_file=${R53DYN_ENV_FILE-/etc/r53dyn.env}
  if [ -z "$env_file" ] || [ ! -e "$env_file" ]; then
    return 0
  fi
  [ -r "$env_file" ] || config_error "cannot read $env_file (set R53DYN_ENV_FILE= to skip it)"
  while IFS= read -r env_line || [ -n "$env_line" ]; do
    env_line=$(trim "$env_line")
    case $env_line in '' | '#'*) continue ;; esac
    env_key=${env_line%%=*}
    env_value=${env_line#*=}
    case $env_key in
      *[!A-Za-z0-9_]* | '') continue ;;
      R53DYN_* | AWS_*) ;;
      *) continue ;;
    esac
    case $env_value in
      \"*\")
        env_value=${env_value#\"}
        env_value=${env_value%\"}
        ;;
      \'*\')
        env_value=${env_value#\'}
        env_value=${env_value%\'}
        ;;
    esac
    eval "env_current=\${$env_key:-}"
    if [ -z "$env_current" ]; then
      eval "$env_key=\$env_value"
      eval "export $env_key"
    fi
  done <"$env_file"
}

read_config() {
  queue_url=${R53DYN_QUEUE_URL:-}
  record=${R53DYN_RECORD:-}
  region=${R53DYN_REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
  families=${R53DYN_ADDRESS_FAMILIES:-ipv4}
  platform=${R53DYN_PLATFORM:-auto}
  checkip_url=${R53DYN_CHECKIP_URL:-https://checkip.amazonaws.com}
  max_attempts=${R53DYN_MAX_ATTEMPTS:-8}
  retry_base=${R53DYN_RETRY_BASE_SECONDS:-1}
  retry_cap=${R53DYN_RETRY_MAX_SECONDS:-30}
  metadata_retries=${R53DYN_METADATA_RETRIES:-3}
  imds_endpoint=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}
  imds_endpoint=${imds_endpoint%/}

  [ -n "$queue_url" ] || config_error 'R53DYN_QUEUE_URL is not set (the registrations queue URL)'
  matches "$queue_url" 'https?://[^[:space:]]+' || config_error "R53DYN_QUEUE_URL is not a URL: $queue_url"
  [ -n "$record" ] || config_error 'R53DYN_RECORD is not set (the DNS name to register, e.g. web.dyn.example.com)'
  # The batcher enforces the full name rules; this charset is what keeps the JSON body well formed.
  matches "$record" '[A-Za-z0-9_-][A-Za-z0-9._-]{0,253}' ||
    config_error "R53DYN_RECORD must be a DNS name made of letters, digits, '.', '-' and '_': $record"
  if [ -n "$region" ]; then
    matches "$region" '[a-z0-9-]+' || config_error "region is not an AWS region name: $region"
  fi

  want_ipv4=no
  want_ipv6=no
  for family in $families; do
    case $family in
      ipv4) want_ipv4=yes ;;
      ipv6) want_ipv6=yes ;;
      *) config_error "R53DYN_ADDRESS_FAMILIES takes ipv4 and/or ipv6, not: $family" ;;
    esac
  done
  [ "$want_ipv4" = yes ] || [ "$want_ipv6" = yes ] || config_error 'R53DYN_ADDRESS_FAMILIES is empty'

  case $platform in
    auto)
      if [ -n "${ECS_CONTAINER_METADATA_URI_V4:-}" ]; then platform=ecs; else platform=ec2; fi
      ;;
    ec2 | ecs) ;;
    *) config_error "R53DYN_PLATFORM takes auto, ec2 or ecs, not: $platform" ;;
  esac
  if [ "$platform" = ecs ]; then
    [ -n "${ECS_CONTAINER_METADATA_URI_V4:-}" ] ||
      config_error 'R53DYN_PLATFORM=ecs but ECS_CONTAINER_METADATA_URI_V4 is not set'
    # checkip only tells the IPv4 address that the task reaches the internet from.
    [ "$want_ipv6" = no ] || config_error 'ipv6 is not supported on ECS/Fargate: set R53DYN_ADDRESS_FAMILIES=ipv4'
    matches "$checkip_url" 'https?://[^[:space:]]+' || config_error "R53DYN_CHECKIP_URL is not a URL: $checkip_url"
  fi

  matches "$max_attempts" '[1-9][0-9]{0,2}' || config_error "R53DYN_MAX_ATTEMPTS must be 1 to 999: $max_attempts"
  matches "$retry_base" '[0-9]+(\.[0-9]+)?' ||
    config_error "R53DYN_RETRY_BASE_SECONDS must be a number of seconds: $retry_base"
  matches "$retry_cap" '[0-9]+(\.[0-9]+)?' ||
    config_error "R53DYN_RETRY_MAX_SECONDS must be a number of seconds: $retry_cap"
  matches "$metadata_retries" '[0-9]{1,2}' || config_error "R53DYN_METADATA_RETRIES must be 0 to 99: $metadata_retries"

  sqs_endpoint
  command -v curl >/dev/null 2>&1 || config_error 'curl is not installed'
  command -v aws >/dev/null 2>&1 || config_error 'the aws CLI is not on PATH'
  read_readiness_config
}

# The gate's settings are read only when there is a command: without one, nothing changes.
read_readiness_config() {
  readiness_command=$(trim "${R53DYN_READINESS_COMMAND:-}")
  [ -n "$readiness_command" ] || return 0
  readiness_failures=${R53DYN_READINESS_FAILURES:-3}
  readiness_timeout=${R53DYN_READINESS_TIMEOUT_SECONDS:-10}
  readiness_wait=${R53DYN_READINESS_WAIT_SECONDS:-300}
  lock_wait=${R53DYN_LOCK_WAIT_SECONDS:-60}
  state_file=${R53DYN_STATE_FILE:-/run/r53dyn/readiness.state}

  matches "$readiness_failures" '[1-9][0-9]{0,2}' ||
    config_error "R53DYN_READINESS_FAILURES must be 1 to 999 (failed checks in a row before deregistering): $readiness_failures"
  matches "$readiness_timeout" '[1-9][0-9]{0,3}' ||
    config_error "R53DYN_READINESS_TIMEOUT_SECONDS must be 1 to 9999: $readiness_timeout"
  matches "$readiness_wait" '[0-9]{1,5}' || config_error "R53DYN_READINESS_WAIT_SECONDS must be 0 to 99999: $readiness_wait"
  matches "$lock_wait" '[0-9]{1,4}' || config_error "R53DYN_LOCK_WAIT_SECONDS must be 0 to 9999: $lock_wait"
  matches "$state_file" '/.*[^/]' || config_error "R53DYN_STATE_FILE must be an absolute file name: $state_file"
  if [ -e "$state_file" ] && [ ! -f "$state_file" ]; then
    config_error "R53DYN_STATE_FILE is not a regular file: $state_file"
  fi
  state_dir=${state_file%/*}
  [ -n "$state_dir" ] || state_dir=/
  if ! mkdir -p "$state_dir" 2>/dev/null || [ ! -w "$state_dir" ]; then
    config_error "cannot write the readiness state in $state_dir (set R53DYN_STATE_FILE)"
  fi
  # Milestones of the wait and of a check need the time in seconds; every date we run on has %s.
  matches "$(date +%s)" '[0-9]+' || config_error "date +%s does not print the time in seconds"
}

# Sets http_status ("000" when nothing answered) and http_body. Extra curl options come first.
http_request() {
  http_method=$1
  http_url=$2
  shift 2
  # The status goes after a newline, so the body can be anything (even empty) and still split cleanly.
  # --globoff: URLs come from settings and metadata, and [] or {} in them must never expand.
  http_out=$(curl -s --globoff -X "$http_method" --connect-timeout 2 --max-time 5 \
    --retry "$metadata_retries" --retry-connrefused --retry-delay 1 \
    -w "${nl}%{http_code}" "$@" -- "$http_url" 2>/dev/null)
  http_status=${http_out##*"$nl"}
  http_body=${http_out%"$nl"*}
  case $http_out in *"$nl"*) ;; *) http_body='' ;; esac
}

imds_login() {
  # Metadata is link-local: a proxy from the environment must never see it.
  http_request PUT "$imds_endpoint/latest/api/token" --noproxy '*' \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300'
  case $http_status in
    200) ;;
    000) metadata_error "instance metadata did not answer at $imds_endpoint (not on EC2, or IMDS disabled?)" ;;
    *) metadata_error "instance metadata refused an IMDSv2 token (HTTP $http_status from $imds_endpoint)" ;;
  esac
  imds_token=$(trim "$http_body")
  matches "$imds_token" '[A-Za-z0-9_=+/-]+' || metadata_error 'instance metadata returned an unusable token'
}

# Sets imds_value; returns 1 when the item does not exist (404), exits on any other failure.
imds_get() {
  http_request GET "$imds_endpoint/latest/meta-data/$1" --noproxy '*' \
    -H "X-aws-ec2-metadata-token: $imds_token"
  case $http_status in
    200) imds_value=$(trim "$http_body") ;;
    404) return 1 ;;
    000) metadata_error "instance metadata did not answer for $1 at $imds_endpoint" ;;
    *) metadata_error "instance metadata answered HTTP $http_status for $1" ;;
  esac
}

ec2_identity() {
  imds_login
  imds_get instance-id || metadata_error 'instance metadata has no instance-id'
  instance_id=$imds_value
  matches "$instance_id" "$ec2_id_pattern" || metadata_error "instance metadata returned a bad instance id: $instance_id"
  if [ -z "$region" ] && imds_get placement/region; then
    matches "$imds_value" '[a-z0-9-]+' || metadata_error "instance metadata returned a bad region: $imds_value"
    region=$imds_value
  fi
}

ec2_addresses() {
  if [ "$want_ipv4" = yes ]; then
    imds_get public-ipv4 ||
      metadata_error 'no public IPv4 on this instance: attach one or set R53DYN_ADDRESS_FAMILIES=ipv6'
    ipv4=$imds_value
    matches "$ipv4" "$ipv4_pattern" || metadata_error "instance metadata returned a bad public IPv4: $ipv4"
  fi
  if [ "$want_ipv6" = yes ]; then
    # meta-data/ipv6 is not served everywhere; the interface's ipv6s list is, so fall back to it.
    if ! imds_get ipv6; then
      imds_get mac || metadata_error 'instance metadata has no mac to look up IPv6 addresses'
      mac=$imds_value
      matches "$mac" '[0-9a-f:]+' || metadata_error "instance metadata returned a bad mac: $mac"
      imds_get "network/interfaces/macs/$mac/ipv6s" ||
        metadata_error 'no IPv6 address on this instance: assign one or set R53DYN_ADDRESS_FAMILIES=ipv4'
      imds_value=${imds_value%%"$nl"*}
    fi
    ipv6=$(trim "$imds_value")
    matches "$ipv6" "$ipv6_pattern" || metadata_error "instance metadata returned a bad IPv6: $ipv6"
  fi
}

ecs_identity() {
  ecs_uri=${ECS_CONTAINER_METADATA_URI_V4%/}
  http_request GET "$ecs_uri/task" --noproxy '*'
  [ "$http_status" = 200 ] || metadata_error "ECS task metadata answered HTTP $http_status at $ecs_uri/task"
  # No jq on most images: TaskARN is a plain string field, which sed can lift out safely.
  task_arn=$(printf '%s\n' "$http_body" | sed -n 's/.*"TaskARN"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | sed -n 1p)
  [ -n "$task_arn" ] || metadata_error 'ECS task metadata has no TaskARN'
  instance_id=${task_arn##*/}
  matches "$instance_id" "$task_id_pattern" || metadata_error "ECS task id is not 32 hex digits: $instance_id"
  if [ -z "$region" ]; then
    # arn:aws:ecs:<region>:<account>:task/<cluster>/<id>
    arn_region=$(printf '%s' "$task_arn" | cut -d: -f4)
    if matches "$arn_region" '[a-z0-9-]+'; then region=$arn_region; fi
  fi
}

ecs_addresses() {
  http_request GET "$checkip_url"
  [ "$http_status" = 200 ] || metadata_error "could not learn the public IPv4 from $checkip_url (HTTP $http_status)"
  ipv4=$(trim "$http_body")
  matches "$ipv4" "$ipv4_pattern" || metadata_error "$checkip_url did not answer an IPv4 address: $ipv4"
}

# Every value was checked against a pattern that excludes quotes and backslashes, so plain
# concatenation cannot produce anything but the intended JSON object.
build_body() {
  body="{\"v\":1,\"action\":\"$action\",\"record\":\"$record\",\"instanceId\":\"$instance_id\""
  if [ -n "$ipv4" ]; then body="$body,\"ipv4\":\"$ipv4\""; fi
  if [ -n "$ipv6" ]; then body="$body,\"ipv6\":\"$ipv6\""; fi
  body="$body}"
}

# Exponential backoff with jitter: the n-th wait is d..2d with d = base * 2^(n-1), capped. A fleet
# booting together would retry in lockstep on a clock seed, so the randomness comes from the kernel.
backoff_delay() {
  jitter=$(od -An -N2 -tu2 /dev/urandom 2>/dev/null | tr -d ' ')
  matches "$jitter" '[0-9]+' || jitter=$$
  awk -v base="$retry_base" -v cap="$retry_cap" -v n="$1" -v r="$jitter" \
    'BEGIN { d = base * 2 ^ (n - 1); if (d > cap) d = cap; printf "%.3f", d + d * (r % 65536) / 65536 }'
}

# AWS CLI v1 sends SQS calls to the legacy queue.amazonaws.com hosts unless --endpoint-url is given: it
# ignores AWS_ENDPOINT_URL(_SQS) for SQS (aws/aws-cli#8737), and a private subnet whose SQS interface
# endpoint only covers sqs.<region>.amazonaws.com never gets through (aws/aws-cli#5966). So the endpoint
# is always passed: a configured one, else the host the queue URL itself names.
sqs_endpoint() {
  endpoint_url=''
  if [ "${AWS_IGNORE_CONFIGURED_ENDPOINT_URLS:-}" != true ]; then
    endpoint_url=${AWS_ENDPOINT_URL_SQS:-${AWS_ENDPOINT_URL:-}}
  fi
  if [ -z "$endpoint_url" ]; then
    queue_rest=${queue_url#*://}
    endpoint_url="${queue_url%%://*}://${queue_rest%%/*}"
  fi
  matches "$endpoint_url" 'https?://[^[:space:]]+' || config_error "the SQS endpoint is not a URL: $endpoint_url"
}

send_message() {
  set -- sqs send-message --queue-url "$queue_url" --message-body "$body" \
    --output text --query MessageId --cli-connect-timeout 10 --endpoint-url "$endpoint_url"
  if [ -n "$region" ]; then set -- "$@" --region "$region"; fi
  attempt=1
  while :; do
    message_id=$(aws "$@")
    aws_status=$?
    if [ "$aws_status" -eq 0 ]; then
      message_id=$(trim "$message_id")
      printf '%s: %s %s for %s sent, message id %s\n' "$prog" "$action" "$record" "$instance_id" "$message_id"
      return 0
    fi
    if [ "$attempt" -ge "$max_attempts" ]; then
      fail 4 "$action $record: could not send to $queue_url after $attempt attempts (last aws exit $aws_status)"
    fi
    delay=$(backoff_delay "$attempt")
    log "attempt $attempt/$max_attempts failed (aws exit $aws_status); retrying in ${delay}s"
    sleep "$delay"
    attempt=$((attempt + 1))
  done
}

# Learns what the message for $action needs from metadata, asking only once per run.
identify() {
  if [ -z "$instance_id" ]; then
    if [ "$platform" = ecs ]; then ecs_identity; else ec2_identity; fi
  fi
  if [ "$action" != deregister ] && [ "$addresses_known" = no ]; then
    if [ "$platform" = ecs ]; then ecs_addresses; else ec2_addresses; fi
    addresses_known=yes
  fi
}

send() {
  action=$1
  identify
  build_body
  send_message
}

# ---- The readiness gate ------------------------------------------------------------------------------
# The state file holds two lines, state=published|unpublished|withdrawn and failures=<failed checks in a
# row>, and is only ever replaced whole (written aside, then renamed), so a killed run cannot leave half
# of it. unpublished: taken out (or never put in) because of failed checks; a passing check registers.
# withdrawn: deregistered on purpose (at shutdown); only register publishes again.

now() { date +%s; }

# Runs the readiness command once, under timeout(1) when there is one. Sets check_reason (its exit
# status and the last line it printed, for the log) and returns whether it passed. Its output goes to a
# file, not a pipe, so that a process it leaves behind cannot hold this script up; fd 9 (the lock) is
# closed for it, so that such a process cannot hold the lock either.
check_readiness() {
  check_log="$state_file.check.$$"
  check_started=$(now)
  if command -v timeout >/dev/null 2>&1; then
    timeout "$readiness_timeout" sh -c "$readiness_command" </dev/null >"$check_log" 2>&1 9>&-
    check_status=$?
  else
    sh -c "$readiness_command" </dev/null >"$check_log" 2>&1 9>&-
    check_status=$?
  fi
  check_took=$(($(now) - check_started))
  check_last=$(sed -e '/^[[:space:]]*$/d' "$check_log" 2>/dev/null | tail -n 1 | cut -c 1-200)
  rm -f "$check_log"
  [ "$check_status" -ne 0 ] || return 0
  # GNU timeout exits 124, busybox's 143 (killed by TERM), or 137 once it had to KILL.
  case $check_status in
    124 | 137 | 143)
      if command -v timeout >/dev/null 2>&1 && [ "$check_took" -ge "$readiness_timeout" ]; then
        check_reason="timed out after ${readiness_timeout}s"
        return 1
      fi
      ;;
  esac
  check_reason="exit $check_status"
  check_last=$(trim "$check_last")
  if [ -n "$check_last" ]; then check_reason="$check_reason: $check_last"; fi
  return 1
}

read_state() {
  state=published
  failures=0
  if [ ! -e "$state_file" ]; then
    # Before the gate was set up, the machine was published by register and heartbeat alike, and
    # taking it as published means that failed checks take it out.
    log "no readiness state in $state_file yet: taking the machine as published"
    return 0
  fi
  read_state_value=''
  read_failures_value=''
  while IFS= read -r state_line || [ -n "$state_line" ]; do
    case $state_line in
      state=*) read_state_value=${state_line#state=} ;;
      failures=*) read_failures_value=${state_line#failures=} ;;
    esac
  done <"$state_file"
  case $read_state_value in
    published | unpublished | withdrawn)
      # No leading zeros: sh arithmetic would read 010 as octal.
      if matches "$read_failures_value" '0|[1-9][0-9]{0,8}'; then
        state=$read_state_value
        failures=$read_failures_value
        return 0
      fi
      ;;
  esac
  log "$state_file does not hold a readiness state: taking the machine as published"
}

write_state() {
  state_tmp="$state_file.tmp.$$"
  if printf '# r53dyn-register.sh readiness state; replaced whole on every run\nstate=%s\nfailures=%s\n' \
    "$state" "$failures" >"$state_tmp" && mv -f "$state_tmp" "$state_file"; then
    return 0
  fi
  rm -f "$state_tmp"
  fail 6 "could not write the readiness state to $state_file"
}

# One run at a time reads and writes the state (two heartbeats, or a heartbeat and a deregister), so
# that each check counts once and each transition is sent once. flock(1) when there is one, on fd 9 (the
# kernel drops the lock when its holder dies); otherwise a symlink, which ln creates atomically, naming
# its owner's pid so that a lock left by a killed run can be taken over. Waits up to lock_wait seconds.
lock_state() {
  lock_waited=0
  if command -v flock >/dev/null 2>&1; then
    lock_path="$state_file.lock"
    command exec 9>>"$lock_path" || return 1
    until flock -n 9; do
      [ "$lock_waited" -lt "$lock_wait" ] || return 1
      sleep 1
      lock_waited=$((lock_waited + 1))
    done
    return 0
  fi
  lock_path="$state_file.lock"
  until ln -s "$$" "$lock_path" 2>/dev/null; do
    # POSIX has no readlink; ls -l shows the target after " -> ".
    # shellcheck disable=SC2012
    lock_owner=$(ls -ld "$lock_path" 2>/dev/null | sed -n 's/.* -> //p')
    if matches "$lock_owner" '[0-9]+' && ! kill -0 "$lock_owner" 2>/dev/null; then
      log "taking over $lock_path from process $lock_owner, which is gone"
      rm -f "$lock_path"
      continue
    fi
    [ "$lock_waited" -lt "$lock_wait" ] || return 1
    sleep 1
    lock_waited=$((lock_waited + 1))
  done
  lock_link_held=yes
}

log_state() { log "state: $state (failures: $failures)"; }

# At boot: wait for the check with the sending backoff (R53DYN_RETRY_BASE_SECONDS, _MAX_SECONDS), at most
# R53DYN_READINESS_WAIT_SECONDS in all; then register. On timeout send nothing, record unpublished (so
# that the heartbeat registers once the check passes) and exit 5.
gated_register() {
  identify
  wait_started=$(now)
  deadline=$((wait_started + readiness_wait))
  checks=1
  while ! check_readiness; do
    left=$((deadline - $(now)))
    if [ "$left" -le 0 ]; then
      lock_state || fail 6 "another run has held $lock_path for ${lock_wait}s; not ready, and the state is not recorded"
      state=unpublished
      failures=$checks
      write_state
      log_state
      fail 5 "not ready after ${readiness_wait}s ($checks checks, last: $check_reason): $record not registered; the heartbeat registers it once the check passes"
    fi
    delay=$(backoff_delay "$checks")
    delay=$(awk -v d="$delay" -v l="$left" 'BEGIN { if (d > l) d = l; printf "%.3f", d }')
    log "readiness check $checks failed ($check_reason); next check in ${delay}s, ${left}s left"
    sleep "$delay"
    checks=$((checks + 1))
  done
  if [ "$checks" -gt 1 ]; then log "readiness check $checks passed after $(($(now) - wait_started))s"; fi
  lock_state || fail 6 "another run has held $lock_path for ${lock_wait}s; ready, but nothing sent"
  send register
  state=published
  failures=0
  write_state
  log_state
}

# Each heartbeat: published and passing sends a heartbeat; published and failing sends a heartbeat
# until the R53DYN_READINESS_FAILURES-th failure in a row, which deregisters; unpublished sends nothing
# until a check passes, which registers; withdrawn sends nothing.
gated_heartbeat() {
  lock_state || fail 6 "another run has held $lock_path for ${lock_wait}s: nothing checked or sent"
  read_state
  if check_readiness; then
    if [ "$failures" -gt 0 ]; then log "readiness check passed after $failures failures in a row"; fi
    failures=0
    write_state
    case $state in
      published) send heartbeat ;;
      unpublished)
        send register
        state=published
        write_state
        log_state
        ;;
      withdrawn) log 'withdrawn by deregister: nothing sent (register publishes again)' ;;
    esac
    exit 0
  fi
  failures=$((failures + 1))
  write_state
  case $state in
    published)
      if [ "$failures" -lt "$readiness_failures" ]; then
        log "readiness check failed ($failures in a row, deregistering at $readiness_failures; $check_reason): still published"
        send heartbeat
      else
        log "readiness check failed ($failures in a row, deregistering at $readiness_failures; $check_reason): deregistering"
        send deregister
        state=unpublished
        write_state
        log_state
      fi
      ;;
    unpublished) log "readiness check failed ($failures in a row; $check_reason): not published, nothing sent" ;;
    withdrawn) log "readiness check failed ($failures in a row; $check_reason): withdrawn by deregister, nothing sent" ;;
  esac
  exit 5
}

# Always sent, whatever the state says: at shutdown the machine must go, ready or not.
gated_deregister() {
  lock_state || log "another run has held $lock_path for ${lock_wait}s: deregistering anyway"
  send deregister
  state=withdrawn
  failures=0
  write_state
  log_state
}

cleanup() {
  if [ "$lock_link_held" = yes ]; then rm -f "$lock_path"; fi
  if [ -n "$state_file" ]; then rm -f "$state_file.tmp.$$" "$state_file.check.$$"; fi
}

[ $# -eq 1 ] || usage
action=$1
case $action in
  register | deregister | heartbeat) ;;
  *) usage ;;
esac

instance_id=''
ipv4=''
ipv6=''
addresses_known=no
state_file=''
lock_link_held=no

load_env_file
read_config

if [ -z "$readiness_command" ]; then
  send "$action"
  exit 0
fi
trap cleanup EXIT
# sh runs the EXIT trap on exit, not on a signal; exiting on these makes it run (systemd stops with TERM).
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
case $action in
  register) gated_register ;;
  heartbeat) gated_heartbeat ;;
  deregister) gated_deregister ;;
esac
