"""PyTorch peer of the train stage, for bench/train.ts: the notebook's model with Keras' initialisers.

LSTM(units, activation) -> Dense(1), Adam(lr, eps=1e-7 as Keras), MSE, shuffled mini-batches.
`--cell keras` is a hand-written cell with the model's activation (sigmoid by default; torch's nn.LSTM
hard-codes tanh); `--cell nn` is torch's fused nn.LSTM (tanh), the fastest thing torch offers for it.
Reads a CSV with columns x1..xL,y (scaled; the lookback is the number of x columns); prints one JSON
line with the timings and final loss. `--threads 1` pins torch to one thread.
`--seeds 0,1,2` (for bench/quality.ts) trains one model per seed in this one process, each from
torch.manual_seed(seed) with a fresh model and optimizer, so each run is what `--seed N` alone gives; it
prints one JSON line holding a list of per-seed results (seed, final loss, seconds, test predictions).
`--manifest FILE` (for the backtest in bench/quality.ts) reads a JSON list of {"name", "csv", "test"}
(one backtest fold each: its training pairs and its window's pairs) and trains every fold from every
seed of `--seeds` in this one process; it prints one JSON line with a run per (fold, seed).
"""
import argparse
import json
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import_seconds = time.perf_counter() - t0


class KerasLSTM(nn.Module):
    def __init__(self, units, activation):
        super().__init__()
        self.units = units
        self.kernel = nn.Parameter(torch.empty(1, 4 * units))
        self.recurrent = nn.Parameter(torch.empty(units, 4 * units))
        self.bias = nn.Parameter(torch.zeros(4 * units))
        nn.init.xavier_uniform_(self.kernel)
        nn.init.orthogonal_(self.recurrent)
        with torch.no_grad():
            self.bias[units : 2 * units] = 1.0  # unit_forget_bias
        self.act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}[activation]

    def forward(self, x):  # x: [batch, steps, 1]
        b = x.shape[0]
        h = x.new_zeros(b, self.units)
        c = x.new_zeros(b, self.units)
        for t in range(x.shape[1]):
            z = x[:, t, :] @ self.kernel + h @ self.recurrent + self.bias
            i, f, g, o = z.chunk(4, 1)
            i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
            c = f * c + i * self.act(g)
            h = o * self.act(c)
        return h


class NnLSTM(nn.Module):
    def __init__(self, units):
        super().__init__()
        self.lstm = nn.LSTM(1, units, batch_first=True)

    def forward(self, x):
        out, _ = self.lstm(x)
        return out[:, -1, :]


def fit(a, seed, x, y, test):
    """One run from torch.manual_seed(seed): (loss history, seconds, test predictions, train-set MSE after)."""
    torch.manual_seed(seed)
    rnn = KerasLSTM(a.units, a.activation) if a.cell == "keras" else NnLSTM(a.units)
    dense = nn.Linear(a.units, 1)
    nn.init.xavier_uniform_(dense.weight)
    nn.init.zeros_(dense.bias)
    model = nn.Sequential(rnn, dense)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
    loss_fn = nn.MSELoss()
    n = x.shape[0]

    start = time.perf_counter()
    history = []
    for _ in range(a.epochs):
        order = torch.randperm(n)
        total = 0.0
        for s in range(0, n, a.batch):
            idx = order[s : s + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history.append(total / n)
    seconds = time.perf_counter() - start
    predictions = None
    with torch.no_grad():
        train_mse = loss_fn(model(x), y).item()
        if test is not None:
            predictions = model(torch.from_numpy(test[:, :-1]).unsqueeze(-1)).squeeze(-1).tolist()
    return history, seconds, predictions, train_mse


def load_pairs(path):
    """x [rows, steps, 1] and y [rows, 1] from a CSV with columns x1..xL,y."""
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    return torch.from_numpy(data[:, :-1]).unsqueeze(-1).contiguous(), torch.from_numpy(data[:, -1:]).contiguous()


def seed_list(text):
    return [int(s) for s in text.split(",") if s.strip()]


def run_record(a, seed, x, y, test, **extra):
    """One run from `seed` as a JSON-ready record."""
    history, seconds, predictions, train_mse = fit(a, seed, x, y, test)
    return {**extra, "seed": seed, "final_loss": history[-1], "train_mse": train_mse, "train_seconds": seconds, "test_predictions": predictions}


def header():
    return {"import_seconds": import_seconds, "threads": torch.get_num_threads(), "torch": torch.__version__}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--csv")
    p.add_argument("--manifest", help="JSON list of {name, csv, test}: one run per entry and seed of --seeds")
    p.add_argument("--units", type=int, default=4)
    p.add_argument("--activation", default="sigmoid")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--seeds", help="comma-separated seeds: one run per seed, one JSON line with all of them")
    p.add_argument("--cell", choices=["keras", "nn"], default="keras")
    p.add_argument("--test", help="CSV of test pairs (x1..xL,y) to predict after training")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (the peer of bench/train-grid.ts runs on 1)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)

    if a.manifest is not None:
        with open(a.manifest) as f:
            entries = json.load(f)
        runs = []
        for entry in entries:
            x, y = load_pairs(entry["csv"])
            test = np.loadtxt(entry["test"], delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
            runs += [run_record(a, seed, x, y, test, name=entry["name"]) for seed in seed_list(a.seeds or str(a.seed))]
        print(json.dumps({"cell": a.cell, "epochs": a.epochs, **header(), "runs": runs}))
        return
    if a.csv is None:
        p.error("--csv is required (or --manifest)")

    x, y = load_pairs(a.csv)
    test = np.loadtxt(a.test, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2) if a.test else None
    n = x.shape[0]

    if a.seeds is not None:
        runs = [run_record(a, seed, x, y, test) for seed in seed_list(a.seeds)]
        print(json.dumps({"cell": a.cell, "rows": n, "epochs": a.epochs, **header(), "runs": runs}))
        return

    history, seconds, predictions, _ = fit(a, a.seed, x, y, test)
    print(json.dumps({
        "cell": a.cell,
        "rows": n,
        "epochs": a.epochs,
        "train_seconds": seconds,
        "import_seconds": import_seconds,
        "final_loss": history[-1],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "test_predictions": predictions,
    }))


if __name__ == "__main__":
    main()
