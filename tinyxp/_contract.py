"""What files and processes agree on: names of files and folders, statuses, environment variables.

The one home of these facts (docs/format.md describes them for users). It imports
nothing, so every part of tinyxp can use it at no cost.
"""
from __future__ import annotations

# inside a run directory
METADATA_DIR = "metadata"
METRICS_DIR = "metrics"
ARTIFACTS_DIR = "artifacts"
INFO_FILE = "info.yaml"
CONFIG_FILE = "config.yaml"
XP_FILE = "xp.yaml"
TRACEBACK_FILE = "traceback.txt"
HEARTBEAT_FILE = "heartbeat"
SCRIPT_FILE = "script.sh"
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"
METRIC_SUFFIX = ".jsonl"
MLXP_METRIC_SUFFIX = ".json"  # the JSON-lines metrics files of runs MLXP wrote, which the reader reads too
NOTES_FILE = "notes.yaml"  # in metadata/: tags and note, written by `tinyxp tag` / `note`, never by the run's own info writes

# the reader's columns that are not metrics (info.*, config.*, artifacts.*, tags, note): no
# metric log may be named so, nor start with one of them and a dot
NOTES_COLUMNS = ("tags", "note")  # notes.yaml's keys, and the reader's columns of them
RESERVED_LOG_NAMES = ("info", "config", "artifacts", *NOTES_COLUMNS)

DEFAULT_LOG_DIR = "./logs"  # xp.log_dir unless set, and the log folder of `tinyxp tag`, `rm`...
LAUNCH_LOCK_FILE = ".launch.lock"  # in metadata/: held while a launch reads and rewrites info.yaml

# inside the log directory
TINYXP_DIR = ".tinyxp"  # the reader's index, array job scripts and their logs
TRASH_DIR = ".trash"  # runs removed by `tinyxp rm`, until `tinyxp gc`; their ids stay taken
TRASH_LAST_ID_FILE = "last_run_id"  # in TRASH_DIR: the largest id `tinyxp gc` deleted
TMP_PREFIX = ".tmp-"  # a file being written, moved into place with os.replace

LIVE_STATUSES = ("RUNNING", "PENDING")

# set for a process that runs from a git snapshot: a JSON description of the snapshot
SNAPSHOT_ENV = "TINYXP_IN_SNAPSHOT"
# a snapshot's own description of itself, for jobs started without SNAPSHOT_ENV
SNAPSHOT_MARKER = ".tinyxp-snapshot.json"
# set by the job scripts tinyxp writes: the run directory the job runs in
RUN_DIR_ENV = "TINYXP_RUN_DIR"

# per scheduler, the variable holding the job id inside a job
JOB_ID_ENVS = {
    "slurm": "SLURM_JOB_ID",
    "oar": "OAR_JOB_ID",
    "pbs": "PBS_JOBID",
    "torque": "PBS_JOBID",
    "sge": "JOB_ID",
    "lsf": "LSB_JOBID",
}
# per scheduler, the variables holding an array task's index, and the array's own id (first set wins)
ARRAY_TASK_ENVS = {
    "slurm": ("SLURM_ARRAY_TASK_ID",),
    "oar": ("OAR_ARRAY_INDEX",),
    "pbs": ("PBS_ARRAY_INDEX",),
    "torque": ("PBS_ARRAYID",),
    "sge": ("SGE_TASK_ID",),
    "lsf": ("LSB_JOBINDEX",),
}
ARRAY_JOB_ENVS = {
    "slurm": ("SLURM_ARRAY_JOB_ID",),
    "oar": ("OAR_ARRAY_ID",),
    "pbs": ("PBS_ARRAY_ID",),
    "torque": ("PBS_JOBID",),
    "sge": ("JOB_ID",),
    "lsf": ("LSB_JOBID",),
}
# per scheduler, variables of which one must be set too for its job id variable to count
# (JOB_ID alone is too common a name to mean SGE)
JOB_REQUIRED_ENVS = {"sge": ("SGE_TASK_ID", "SGE_ROOT")}
# per scheduler, variables that mean another scheduler set its job id variable (Torque's PBS_JOBID)
JOB_EXCLUDED_ENVS = {"pbs": ("PBS_ARRAYID",)}
# per scheduler, the array index it sets outside arrays (LSF: LSB_JOBINDEX=0)
NO_ARRAY_TASK = {"lsf": 0}
# schedulers that set their array variables in every job (OAR: array id = job id, index 1):
# there, a job with those values is an array task only when its script exports ARRAY_ENV
ARRAY_VARIABLES_ALWAYS = ("oar",)
ARRAY_ENV = "TINYXP_ARRAY"  # exported (=1) by the array scripts tinyxp writes
# per scheduler whose array tasks share the array's job id variable, a task's own job id
TASK_JOB_IDS = {"sge": "{job}.{task}", "lsf": "{job}[{task}]"}
# per scheduler, the variable counting the job's requeues
RESTART_COUNT_ENVS = {"slurm": "SLURM_RESTART_COUNT"}
# the order in which a job's variables are looked for: the first scheduler whose job id is set wins
JOB_DETECTION_ORDER = ("slurm", "oar", "lsf", "sge", "pbs", "torque")
SCHEDULERS = tuple(JOB_ID_ENVS)  # the batch schedulers, one row each in jobs/backends.py
# per scheduler that can be asked what became of a job: the command asked, and the statuses
# of the runs asked about (OAR and SGE kill a deleted job with SIGKILL: its run stays RUNNING)
SETTLE_COMMANDS = {"slurm": "squeue", "oar": "oarstat", "sge": "qstat", "pbs": "qstat", "torque": "qstat", "lsf": "bjobs"}
SETTLE_STATUSES = {"slurm": ("PENDING",), "oar": ("PENDING", "RUNNING"), "sge": ("PENDING", "RUNNING"),
                   "pbs": ("PENDING",), "torque": ("PENDING",), "lsf": ("PENDING",)}

LOCAL_SCHEDULER = "local"  # xp.scheduler=local: a sweep as processes on this machine (jobs/local.py)

# the GPUs a process may use (xp.gpus gives each local worker its own)
GPU_ENV = "CUDA_VISIBLE_DEVICES"

# a process's rank in a multi-process job, per launcher, looked for in this order: the rank
# and world-size variables; the variables that together name the job (its ranks' rendezvous);
# the rank on this node
RANK_ENVS = {
    "torchrun": ("RANK", "WORLD_SIZE"),
    "mpi": ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    "slurm": ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS"),  # srun sets the step's; a batch script has SLURM_PROCID alone
}
RANK_JOB_ENVS = {
    "torchrun": ("TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RESTART_COUNT"),
    "mpi": ("OMPI_MCA_orte_hnp_uri", "PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid"),
    "slurm": ("SLURM_JOB_ID", "SLURM_STEP_ID"),
}
LOCAL_RANK_ENVS = {"torchrun": "LOCAL_RANK", "mpi": "OMPI_COMM_WORLD_LOCAL_RANK", "slurm": "SLURM_LOCALID"}
RANK_MAY_BE_ALONE = ("slurm",)  # launchers whose rank variable is set without a world size in a single process
RANKS_DIR = "ranks"  # in TINYXP_DIR: one rendezvous file per multi-process job, holding its run id

# seconds before a job's time limit at which the scheduler signals it (xp.signal_grace)
DEFAULT_SIGNAL_GRACE = 120
# the signals xp.requeue_signal accepts (names without SIG), and its default: not USR1,
# which NCCL takes for itself; USR2 is also what SGE's -notify sends before a kill
REQUEUE_SIGNALS = ("USR1", "USR2", "HUP", "TERM")
DEFAULT_REQUEUE_SIGNAL = "USR2"


def is_run_id(name: str) -> bool:
    """Whether a folder name is a run id: a decimal integer without leading zeros."""
    return name.isdigit() and name.isascii() and (name == "0" or not name.startswith("0"))


TAG_CHARACTERS = "_-.:+/@"  # besides letters and digits
TAG_RULE = f"a letter or _, then letters, digits or {' '.join(TAG_CHARACTERS)}"


def is_tag(tag: object) -> bool:
    """Whether tag can name a run's tag: a word that queries, overrides and shells take as it is."""
    return (
        isinstance(tag, str) and (tag[:1].isalpha() or tag[:1] == "_")
        and all(char.isalnum() or char in TAG_CHARACTERS for char in tag)
    )


def is_reserved_log_name(name: str) -> bool:
    """Whether a metric log name would shadow columns the reader gives every run (info.status...)."""
    return name.split(".", 1)[0] in RESERVED_LOG_NAMES
