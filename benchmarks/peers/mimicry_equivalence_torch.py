r"""torch-mimicry's side of the training-step equivalence (benchmarks/peers/mimicry_equivalence.py).

  python benchmarks/peers/mimicry_equivalence_torch.py --model=sngan --n_dis=5 \
      --g_steps=20 --output=/tmp/mimicry_sngan.npz

Builds mimicry's SNGAN-32 (or SSGAN-32) G and D from --seed, writes their complete initial
state (weights, biases, spectral norm's u and v, BN buffers), then trains them with
mimicry's own `Trainer` (its `train_step` methods, in its order: n_dis D steps, G's step
after the last; Adam(2e-4, (0, 0.9)) as in mimicry's CIFAR-10 runs; `--lr_decay=linear`
decays both learning rates to 0 over --g_steps, its `LRScheduler`) on a fixed stream of
random real images in [-1, 1]. Nothing of mimicry is changed: recording hooks note the
latents G is called with (mimicry draws them itself, `torch.randn`), every D and G loss
(and for SSGAN the rotation classes), and at the end the final state with Adam's slots.
All of it goes into one .npz that the project's side replays; one JSON line is printed.

Runs with any Python that has torch and torch-mimicry 0.1.16 (the project's venv has both,
from requirements-test.txt). mimicry's package imports its metrics (TensorFlow: never in
the same process as torch here) and its datasets, logger image grids and file utilities
(torchvision, scikit-image) and TensorBoard writer: none of them runs in training, so they
are stubbed (the first two when missing), as in mimicry_steps.py.
"""
import argparse
import importlib.util
import json
import sys
import tempfile
import types

import numpy as np


def _stub(name, **attributes):
  module = types.ModuleType(name)
  module.__dict__.update(attributes)
  sys.modules[name] = module


# Never used in training: mimicry's metrics (TensorFlow) and datasets (torch._six, gone).
for _unused in ("torch_mimicry.metrics", "torch_mimicry.datasets"):
  _stub(_unused)
# Only the logger's image grids (torchvision) and the image file helpers (scikit-image) use
# these; the Trainer below never writes an image.
if importlib.util.find_spec("torchvision") is None:
  _stub("torchvision", utils=types.ModuleType("torchvision.utils"))
if importlib.util.find_spec("skimage") is None:
  _stub("skimage", io=types.ModuleType("skimage.io"))


class _NoSummaryWriter:
  """The logger's TensorBoard writer: torch.utils.tensorboard imports TensorBoard, which
  imports TensorFlow when installed (not in one process with torch); never written here."""

  def __init__(self, *args, **kwargs):
    raise RuntimeError("The equivalence run writes no TensorBoard summaries.")


_stub("torch.utils.tensorboard", SummaryWriter=_NoSummaryWriter)

# pylint: disable=g-import-not-at-top,wrong-import-position
import torch
from torch_mimicry.nets import sngan, ssgan
from torch_mimicry.training import metric_log
from torch_mimicry.training import trainer as trainer_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

MODELS = {"sngan": (sngan.SNGANGenerator32, sngan.SNGANDiscriminator32),
          "ssgan": (ssgan.SSGANGenerator32, ssgan.SSGANDiscriminator32)}
LR, BETAS = 2e-4, (0.0, 0.9)


class _Recorder:
  """Collects, per train_step call, the losses mimicry computes (without changing them)."""

  def __init__(self):
    self.phase = None
    self.parts = []
    self.steps = {"d": [], "g": []}
    self.rotation_labels = []

  def wrap_step(self, net, phase):
    original = net.train_step

    def train_step(*args, **kwargs):
      self.phase, self.parts = phase, []
      result = original(*args, **kwargs)
      self.steps[phase].append([float(p) for p in self.parts])
      self.phase = None
      return result
    net.train_step = train_step

  def wrap_loss(self, net, name):
    original = getattr(net, name)

    def loss_fn(*args, **kwargs):
      result = original(*args, **kwargs)
      loss = result[0] if isinstance(result, tuple) else result
      self.parts.append(loss.detach())
      if isinstance(result, tuple) and self.phase == "d":  # SSGAN's (loss, class labels).
        self.rotation_labels.append(result[1].detach().numpy())
      return result
    setattr(net, name, loss_fn)


def _state(prefix, net, optimizer):
  """{prefix/name: array} of every parameter and buffer, and Adam's slots of each parameter."""
  out = {f"{prefix}/{name}": t.detach().numpy().copy() for name, t in net.state_dict().items()}
  if optimizer is not None:
    for name, p in net.named_parameters():
      state = optimizer.state.get(p, {})
      for slot in ("exp_avg", "exp_avg_sq", "step"):
        if slot in state:
          out[f"opt_{prefix}/{name}/{slot}"] = np.array(state[slot].detach().numpy())
  return out


def _perturb(nets, relative, seed):
  """Multiplies every parameter by (1 + relative * N(0, 1)): mimicry against itself from a
  rounding-sized change of its state (the noise floor of the comparison)."""
  generator = torch.Generator().manual_seed(seed + 2)
  with torch.no_grad():
    for net in nets:
      for p in net.parameters():
        p.mul_(1 + relative * torch.randn(p.shape, generator=generator))


def _record_updates(out, record_updates, net_g, net_d, opt_g, opt_d):
  """Records, after each of the first `record_updates` optimizer updates (D's and G's in
  mimicry's order), what the update changed: the stepped network's parameters, buffers and
  Adam slots, and the other network's buffers (G's BN statistics move in D's step, D's
  spectral-norm vectors in G's): "upd<j>/D/...", "opt_upd<j>/D/.../exp_avg", ..."""
  updates = []

  def wrap(optimizer, net, tag, other, other_tag):
    step = optimizer.step

    def recording_step(*args, **kwargs):
      result = step(*args, **kwargs)
      j = len(updates)
      updates.append(tag)
      if j < record_updates:
        out.update({f"upd{j}/{tag}/{name}": t.detach().numpy().copy()
                    for name, t in net.state_dict().items()})
        out.update({f"upd{j}/{other_tag}/{name}": t.detach().numpy().copy()
                    for name, t in other.named_buffers()})
        for name, p in net.named_parameters():
          for slot in ("exp_avg", "exp_avg_sq", "step"):
            out[f"opt_upd{j}/{tag}/{name}/{slot}"] = np.array(
                optimizer.state[p][slot].detach().numpy())  # A copy: Adam works in place.
      return result
    optimizer.step = recording_step

  wrap(opt_d, net_d, "D", net_g, "G")
  wrap(opt_g, net_g, "G", net_d, "D")


class _NoStep:
  """An optimizer whose step leaves the parameters alone (their .grad is what is wanted)."""

  def step(self):
    pass


def _state_before(out, j):
  """mimicry's complete state (parameters and buffers, both nets) before update j, from the
  initial state and what updates 0..j-1 recorded: {"G/name": array, "D/name": array}."""
  state = {k[len("init/"):]: v for k, v in out.items() if k.startswith("init/")}
  for i in range(j):
    state.update({k[len(f"upd{i}/"):]: v for k, v in out.items()
                  if k.startswith(f"upd{i}/")})
  return state


def _replay_update(out, model, n_dis, ngf, ndf, reals, latents, j, dtype):
  """Update j's gradient again: mimicry's own train_step, on copies of its networks in its
  fp32 state before the update, cast to `dtype`, with the same reals and latent, and an
  optimizer that does not step. Returns ("D" or "G", {parameter: gradient}, [per ReLU call:
  ("G" or "D", whether each input is > 0)]) (the ReLUs' inputs, before mimicry's in-place
  ReLUs overwrite them)."""
  make_g, make_d = MODELS[model]
  t, i = divmod(j, n_dis + 1)
  state = _state_before(out, j)
  net_g, net_d = make_g(ngf=ngf), make_d(ndf=ndf)
  signs = []
  for prefix, net in (("G", net_g), ("D", net_d)):
    net.load_state_dict({k[len(prefix) + 1:]: torch.from_numpy(np.array(v))
                         for k, v in state.items() if k.startswith(prefix + "/")})
    net.to(dtype).train()
    for module in net.modules():
      if isinstance(module, torch.nn.ReLU):
        module.register_forward_pre_hook(
            lambda module, inputs, prefix=prefix: signs.append(
                (prefix, (inputs[0] > 0).numpy().copy())))
  z = torch.from_numpy(latents[j]).to(dtype)
  net_g.generate_images = lambda num_images, device=None: net_g(z)
  batch = (torch.from_numpy(reals[t * n_dis + min(i, n_dis - 1)]).to(dtype),
           torch.zeros(reals.shape[1], dtype=torch.long))
  if i < n_dis:
    tag, net = "D", net_d
    net_d.train_step(real_batch=batch, netG=net_g, optD=_NoStep(),
                     log_data=metric_log.MetricLog(), device=torch.device("cpu"))
  else:
    tag, net = "G", net_g
    net_g.train_step(real_batch=batch, netD=net_d, optG=_NoStep(),
                     log_data=metric_log.MetricLog(), device=torch.device("cpu"))
  return tag, {name: p.grad.numpy().copy() for name, p in net.named_parameters()
               if p.grad is not None}, signs


def _float64_gradients(out, model, n_dis, ngf, ndf, reals, latents, updates):
  """The gradient of each of the first `updates` recorded updates in float64
  ("grad64_upd<j>/D/..."): `_replay_update` in float64, the exact gradient of mimicry's fp32
  state to ~1e-15, so that how far each side's fp32 gradient is from it is that side's
  rounding. The same replay in float32 must give mimicry's recorded gradient bit for bit
  ("replay32_err_upd<j>": the largest difference, 0 if the replay is mimicry's step), and
  "relu_flips64_upd<j>" counts the ReLU inputs whose sign differs between float32 and
  float64, [in G's ReLUs, in D's]: where ReLU's derivative jumps from 0 to 1 within rounding
  (G's count only when G steps: in D's step G's ReLUs only make the fakes, continuously)."""
  grads = {}
  for j in range(updates):
    tag, g32, signs32 = _replay_update(out, model, n_dis, ngf, ndf, reals, latents, j,
                                       torch.float32)
    _, g64, signs64 = _replay_update(out, model, n_dis, ngf, ndf, reals, latents, j,
                                     torch.float64)
    grads[f"replay32_err_upd{j}"] = np.array(max(
        float(np.abs(g - out[f"opt_upd{j}/{tag}/{name}/exp_avg"]).max())
        for name, g in g32.items()))
    flips = {"G": 0, "D": 0}
    for (net, a), (_, b) in zip(signs32, signs64):
      flips[net] += int((a != b).sum())
    grads[f"relu_flips64_upd{j}"] = np.array(
        [flips["G"] if tag == "G" else 0, flips["D"]], np.int64)
    grads.update({f"grad64_upd{j}/{tag}/{name}": g for name, g in g64.items()})
  return grads


def run(model, n_dis, g_steps, batch_size, seed, ngf, ndf, lr_decay, threads, snapshots=(),
        perturb=0.0, record_updates=0, float64_updates=0):
  """Trains mimicry's model; returns the .npz dict (arrays and a JSON "meta" string).

  `snapshots`: G steps after which every parameter is also recorded ("step<k>/G/..."), for
  the growth of the difference. `perturb`: see _perturb (after the initial state is saved;
  the state after it is saved as "start/...").
  `record_updates`: see _record_updates. `float64_updates`: see _float64_gradients (at most
  `record_updates`).
  """
  torch.set_num_threads(threads)
  torch.manual_seed(seed)
  make_g, make_d = MODELS[model]
  net_g, net_d = make_g(ngf=ngf), make_d(ndf=ndf)
  out = {}
  out.update(_state("init/G", net_g, None))
  out.update(_state("init/D", net_d, None))
  if perturb:
    _perturb((net_g, net_d), perturb, seed)
    out.update(_state("start/G", net_g, None))
    out.update(_state("start/D", net_d, None))
  generator = torch.Generator().manual_seed(seed + 1)
  num_batches = n_dis * g_steps
  reals = torch.rand(num_batches * batch_size, 3, 32, 32, generator=generator) * 2 - 1
  labels = torch.zeros(num_batches * batch_size, dtype=torch.long)
  dataloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(reals, labels),
                                           batch_size=batch_size, shuffle=False)
  opt_d = torch.optim.Adam(net_d.parameters(), LR, betas=BETAS)
  opt_g = torch.optim.Adam(net_g.parameters(), LR, betas=BETAS)
  _record_updates(out, record_updates, net_g, net_d, opt_g, opt_d)

  latents = []
  forward = net_g.forward  # generate_images calls forward directly: module hooks do not run.

  def recording_forward(x, *args, **kwargs):
    latents.append(x.detach().clone())
    return forward(x, *args, **kwargs)
  net_g.forward = recording_forward
  recorder = _Recorder()
  recorder.wrap_step(net_d, "d")
  recorder.wrap_step(net_g, "g")
  g_train_step = net_g.train_step

  def snapshotting_train_step(*args, **kwargs):
    result = g_train_step(*args, **kwargs)
    step = len(recorder.steps["g"])
    if step in snapshots:
      for prefix, net in (("G", net_g), ("D", net_d)):
        out.update({f"step{step}/{prefix}/{name}": p.detach().numpy().copy()
                    for name, p in net.named_parameters()})
    return result
  net_g.train_step = snapshotting_train_step
  recorder.wrap_loss(net_d, "compute_gan_loss")
  recorder.wrap_loss(net_g, "compute_gan_loss")
  if model == "ssgan":
    recorder.wrap_loss(net_d, "compute_ss_loss")

  never = g_steps + 1  # No summaries, prints, image grids or checkpoints during the run.
  with tempfile.TemporaryDirectory() as log_dir:
    trainer = trainer_lib.Trainer(
        netD=net_d, netG=net_g, optD=opt_d, optG=opt_g, dataloader=dataloader,
        num_steps=g_steps, n_dis=n_dis, lr_decay=None if lr_decay == "none" else lr_decay,
        log_dir=log_dir, device=torch.device("cpu"), print_steps=never, vis_steps=never,
        log_steps=never, save_steps=never)
    trainer.train()

  out.update(_state("final/G", net_g, opt_g))
  out.update(_state("final/D", net_d, opt_d))
  out["reals"] = reals.numpy().reshape(num_batches, batch_size, 3, 32, 32)
  out["latents"] = torch.stack(latents).numpy()
  out["d_losses"] = np.array(recorder.steps["d"], np.float64)  # [D steps, parts]
  out["g_losses"] = np.array(recorder.steps["g"], np.float64)  # [G steps, parts]
  if recorder.rotation_labels:
    out["rotation_labels"] = np.stack(recorder.rotation_labels)
  float64_updates = min(float64_updates, record_updates, g_steps * (n_dis + 1))
  out.update(_float64_gradients(out, model, n_dis, ngf, ndf, out["reals"],
                                out["latents"], float64_updates))
  meta = {"model": model, "n_dis": n_dis, "g_steps": g_steps, "batch_size": batch_size,
          "seed": seed, "ngf": ngf, "ndf": ndf, "lr_decay": lr_decay, "lr": LR,
          "betas": BETAS, "torch": torch.__version__, "threads": threads,
          "snapshots": sorted(snapshots), "perturb": perturb,
          "record_updates": min(record_updates, g_steps * (n_dis + 1)),
          "float64_updates": float64_updates}
  out["meta"] = np.array(json.dumps(meta))
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", choices=sorted(MODELS), required=True)
  parser.add_argument("--n_dis", type=int, default=5)
  parser.add_argument("--g_steps", type=int, default=20)
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--ngf", type=int, default=256)
  parser.add_argument("--ndf", type=int, default=128)
  parser.add_argument("--lr_decay", choices=("none", "linear"), default="none")
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--snapshots", default="",
                      help="Comma-separated G steps after which the weights are recorded.")
  parser.add_argument("--perturb", type=float, default=0.0,
                      help="Relative N(0, 1) change of every initial weight (noise floor).")
  parser.add_argument("--record_updates", type=int, default=0,
                      help="Record the state after each of the first N optimizer updates.")
  parser.add_argument("--float64_updates", type=int, default=0,
                      help="Also compute the gradient of each of the first N recorded "
                      "updates in float64, from mimicry's fp32 state before it.")
  parser.add_argument("--output", required=True, help="The .npz to write.")
  args = parser.parse_args()
  for name in ("n_dis", "g_steps", "batch_size", "ngf", "ndf", "threads"):
    if getattr(args, name) < 1:
      parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}.")
  if args.seed < 0:
    parser.error(f"--seed must be >= 0, got {args.seed}.")
  try:
    snapshots = {int(k) for k in args.snapshots.split(",") if k.strip()}
  except ValueError:
    parser.error(f"--snapshots must be comma-separated G steps, got {args.snapshots!r}.")
  if any(not 1 <= k <= args.g_steps for k in snapshots):
    parser.error(f"--snapshots must lie in 1..{args.g_steps}, got {args.snapshots!r}.")
  if args.record_updates < 0:
    parser.error(f"--record_updates must be >= 0, got {args.record_updates}.")
  if not 0 <= args.float64_updates <= args.record_updates:
    parser.error(f"--float64_updates must lie in 0..--record_updates ({args.record_updates}), "
                 f"got {args.float64_updates}.")
  out = run(args.model, args.n_dis, args.g_steps, args.batch_size, args.seed, args.ngf,
            args.ndf, args.lr_decay, args.threads, snapshots, args.perturb,
            args.record_updates, args.float64_updates)
  np.savez(args.output, **out)
  print(json.dumps(dict(json.loads(str(out["meta"])), output=args.output)), flush=True)


if __name__ == "__main__":
  main()
