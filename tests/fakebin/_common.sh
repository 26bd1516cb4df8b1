# Shared by the fake submit commands: record the call, count it, fail when asked.
#   TINYXP_FAKE_LOG      file that gets one line per call: the command and its arguments
#   TINYXP_FAKE_FAIL_AT  the call number (1-based, counted in the log) that fails
#   TINYXP_FAKE_FIRST_ID the first job id handed out (default 1000)
log=${TINYXP_FAKE_LOG:?TINYXP_FAKE_LOG must name a file}
printf '%s\n' "$(basename "$0") $*" >> "$log"
call=$(grep -vc "^stdin:" "$log")
job_id=$(( ${TINYXP_FAKE_FIRST_ID:-1000} + call - 1 ))
fail() {
    if [ "$call" = "${TINYXP_FAKE_FAIL_AT:-0}" ]; then
        echo "$1" >&2
        exit 1
    fi
}
