# Shared by the host-side scripts of the real-Xen tests (sourced, bash).

# Run a command with a time limit; say which step failed or ran out of time.
step() { # seconds command...
	local limit=$1 rc=0
	shift
	timeout --kill-after=10 "$limit" "$@" || rc=$?
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		echo "step timed out after ${limit}s: $*" >&2
	elif [[ $rc -ne 0 && $rc -ne 77 ]]; then # 77: the step says why it skips
		echo "step failed (exit $rc): $*" >&2
	fi
	return $rc
}
