"""The MLXP tutorial's analysis, in tinyxp, on the runs the quickstart writes.

Find the best learning rate of each model by mean final training loss, then report the
mean final test loss of those settings:

    python examples/quickstart/train.py +sweep model=linear,poly optimizer.lr=0.1,0.01 'seed=range(3)'
    python examples/analysis.py logs
"""
import os
import sys
from statistics import mean

try:
    import tinyxp
except ImportError:  # not installed: use the tinyxp folder of this repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import tinyxp


def last(values):
    return values[-1]


def argmin(values):
    return min(range(len(values)), key=values.__getitem__)


def analyse(log_dir):
    """Per model, the best learning rate's mean final test loss (a GroupedDataFrame)."""
    df = tinyxp.Reader(log_dir).filter("info.status == 'COMPLETE'")
    df = df.map([(last, "train.loss"), (last, "test.loss")])  # columns last.train.loss, last.test.loss
    groups = df.groupby(["config.model.degree", "config.optimizer.lr"])
    scores = groups.aggregate((mean, "last.train.loss"))  # column mean.last.train.loss
    best = scores.filter((argmin, "mean.last.train.loss"), bygroups="config.model.degree")
    return groups.select(best.keys()).aggregate((mean, "last.test.loss"))


if __name__ == "__main__":
    print(analyse(sys.argv[1] if len(sys.argv) > 1 else "logs"))
