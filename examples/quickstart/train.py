"""Quickstart: fit a polynomial by SGD in pure Python, with every run logged by tinyxp.

From the repository root, nothing installed:

    python examples/quickstart/train.py                      # one run -> logs/1
    python examples/quickstart/train.py +sweep optimizer.lr=0.1,0.01 'seed=range(3)'
    python examples/quickstart/train.py model=poly --cfg     # print the config, run nothing
    python examples/quickstart/train.py xp.tags=[baseline]   # a tagged run: tinyxp runs logs -q "'baseline' in tags"
    python examples/quickstart/train.py xp.run_id=1 epochs=60 xp.allow_changes=true
                                        # resume run 1 from its checkpoint and stored config, 60 epochs
    python examples/quickstart/train.py +sweep optimizer.lr=0.1,0.01 'seed=range(3)' xp.skip=complete
                                        # continue the sweep: only settings without a COMPLETE run
    python -m tinyxp rerun 1 optimizer.lr=0.05   # a new run from run 1's config and code

Runs go to ./logs (xp.log_dir), relative to the working directory.
"""
import os
import random
import sys

try:
    import tinyxp
except ImportError:  # not installed: use the tinyxp folder of this repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    import tinyxp


def target(x):
    return 0.5 + 2.0 * x - 1.5 * x ** 3


def make_data(rng, n, noise):
    points = []
    for _ in range(n):
        x = rng.uniform(-1.0, 1.0)
        points.append((x, target(x) + rng.gauss(0.0, noise)))
    return points


def predict(weights, x):
    return sum(w * x ** k for k, w in enumerate(weights))


def mean_squared_error(weights, points):
    return sum((predict(weights, x) - y) ** 2 for x, y in points) / len(points)


@tinyxp.launch(config_path="configs")
def train(ctx):
    config = ctx.config
    rng = random.Random(config.seed)
    train_set = make_data(rng, config.data.n_train, config.data.noise)
    test_set = make_data(rng, config.data.n_test, config.data.noise)
    try:  # resumed with xp.run_id=N: continue after the last finished epoch
        state = ctx.logger.load_checkpoint("last")
        print(f"run {ctx.info.run_id}: resuming after epoch {state['epoch']}")
    except tinyxp.NoCheckpoint:
        state = {"epoch": 0, "weights": [0.0] * (config.model.degree + 1), "rng": rng.getstate()}
    weights = state["weights"]
    rng.setstate(state["rng"])
    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        order = list(range(len(train_set)))
        rng.shuffle(order)  # the order depends on the rng alone, so a resumed run matches
        for x, y in (train_set[i] for i in order):
            error = predict(weights, x) - y
            weights = [w - config.optimizer.lr * 2 * error * x ** k for k, w in enumerate(weights)]
        ctx.logger.log_checkpoint({"epoch": epoch, "weights": weights, "rng": rng.getstate()})
        ctx.logger.log_metrics({"epoch": epoch, "loss": mean_squared_error(weights, train_set)}, log_name="train")
        ctx.logger.log_metrics({"epoch": epoch, "loss": mean_squared_error(weights, test_set)}, log_name="test")
    test_loss = mean_squared_error(weights, test_set)
    print(f"run {ctx.info.run_id}: test loss {test_loss:.4f} after {config.epochs} epochs")
    return test_loss


if __name__ == "__main__":
    train()
