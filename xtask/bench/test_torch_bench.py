"""Tests of torch_bench.py's recipe parts: reading a recipe and the losses.

Run by `cargo test -p xtask` (the test `torch_bench_script_recipe_parts`) with
LibTorch's Python:

    python -m unittest xtask/bench/test_torch_bench.py
"""

import importlib.util
import tempfile
import unittest
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
_spec = importlib.util.spec_from_file_location("torch_bench", HERE / "torch_bench.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)


def recipe(text):
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(text)
    try:
        return script.Recipe(f.name)
    finally:
        Path(f.name).unlink()


class Recipes(unittest.TestCase):
    def test_the_restoration_recipe(self):
        r = script.Recipe(ROOT / "configs" / "restore.toml")
        self.assertEqual((r.batch, r.side, r.loss, r.optimizer, r.restore), (16, 128, "ssim+l1", "adam", True))
        self.assertEqual(r.model["kind"], "unet")
        self.assertEqual((r.lr, r.betas, r.eps), (0.001, (0.9, 0.999), 1e-7))

    def test_defaults_are_fp_trains_and_fp_datas(self):
        # An empty recipe is the tutorial: batch 128 at 224x224 (resize "stretch"), mse, RMSprop.
        r = recipe("")
        self.assertEqual((r.batch, r.side, r.loss, r.optimizer, r.restore), (128, 224, "mse", "rmsprop", False))
        # At native resolution the crop side counts, 128 unless given.
        self.assertEqual(recipe('[data]\nresize = "none"\n').side, 128)
        self.assertEqual(recipe('[data]\nresize = "none"\ncrop = 96\n').side, 96)
        with self.assertRaises(SystemExit):
            recipe("[data]\nheight = 200\nwidth = 100\n")

    def test_optimizers_take_the_recipes_settings(self):
        p = [torch.nn.Parameter(torch.zeros(2))]
        adam = recipe('[train]\noptimizer = "adam"\nlearning_rate = 0.01\nbeta1 = 0.8\n').make_optimizer(p)
        self.assertIsInstance(adam, torch.optim.Adam)
        self.assertEqual((adam.defaults["lr"], adam.defaults["betas"], adam.defaults["eps"]), (0.01, (0.8, 0.999), 1e-7))
        rms = recipe("[train]\nrho = 0.95\n").make_optimizer(p)
        self.assertIsInstance(rms, torch.optim.RMSprop)
        self.assertEqual((rms.defaults["alpha"], rms.defaults["eps"]), (0.95, 1e-7))


class Losses(unittest.TestCase):
    def test_the_window_is_a_normalised_symmetric_gaussian(self):
        w = script.losses.gaussian_window(11, 1.5, "cpu")
        self.assertEqual(tuple(w.shape), (1, 1, 11, 11))
        self.assertAlmostEqual(w.sum().item(), 1.0, places=6)
        self.assertTrue(torch.equal(w, w.transpose(2, 3)) and torch.equal(w, w.flip(3)))
        self.assertEqual(w[0, 0].argmax().item(), 5 * 11 + 5)

    def test_ssim_of_two_flat_images_by_hand(self):
        # Flat images a = 0.5 and b = 0.25: no variance or covariance, so
        # SSIM = (2ab + c1) / (a^2 + b^2 + c1) with c1 = 0.01^2.
        x, y = torch.full((1, 1, 16, 16), 0.5), torch.full((1, 1, 16, 16), 0.25)
        c1 = 0.01 ** 2
        ssim = (2 * 0.5 * 0.25 + c1) / (0.5 ** 2 + 0.25 ** 2 + c1)
        self.assertAlmostEqual(script.losses.mean_ssim(x, y).item(), ssim, places=5)
        self.assertAlmostEqual(script.LOSSES["ssim+l1"](x, y).item(), 0.84 * (1 - ssim) + 0.16 * 0.25, places=5)
        # Flat images have no orientation: the term adds nothing.
        self.assertAlmostEqual(script.LOSSES["ssim+l1+orientation"](x, y).item(),
                               script.LOSSES["ssim+l1"](x, y).item(), places=6)

    def test_every_loss_is_zero_for_identical_images_and_positive_otherwise(self):
        torch.manual_seed(1)
        a, b = torch.rand(2, 1, 24, 20), torch.rand(2, 1, 24, 20)
        for name, loss in script.LOSSES.items():
            self.assertLess(abs(loss(a, a).item()), 1e-6, name)
            self.assertGreater(loss(a, b).item(), 0.05, name)

    def test_the_losses_are_the_twins(self):
        # One copy of the formulas: the bench times python/fpae_torch/losses.py's.
        from fpae_torch import losses as twin
        self.assertIs(script.LOSSES, twin.LOSSES)
        self.assertEqual(Path(twin.__file__).resolve(), ROOT / "python" / "fpae_torch" / "losses.py")


if __name__ == "__main__":
    unittest.main()
