# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# On AWS, StopExecution ends an execution at once: it is ABORTED, and whatever its running Task returns later changes
# nothing (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html). LocalStack 4.13.1
# marks the program stopped but lets the running Task finish; when that Task then fails (or the next state cannot be
# entered in a stopped program), Environment.set_error replaces the stopped state, and the execution ends FAILED
# with the Task's error. The same would happen to a program that timed out. This hook keeps the first end: an error
# arriving after a stop or a timeout is dropped, so the execution reads ABORTED (or TIMED_OUT) as on AWS.
from localstack.services.stepfunctions.asl.eval.environment import Environment
from localstack.services.stepfunctions.asl.eval.program_state import ProgramStopped, ProgramTimedOut

_original = Environment.set_error


def set_error(self, error):
    if isinstance(self._program_state, (ProgramStopped, ProgramTimedOut)):
        return
    _original(self, error)


if not getattr(Environment.set_error, "_r53dyn", False):
    set_error._r53dyn = True
    Environment.set_error = set_error
