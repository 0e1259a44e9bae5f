"""Tests of pyfing_enhance.py's parts that need numpy alone: no pyfing, Keras or OpenCV.

Run by `cargo test -p xtask` (the test `pyfing_script_pure_parts`) with LibTorch's
Python, where `cargo xtask test` puts numpy:

    python -m unittest xtask/bench/test_pyfing_enhance.py
"""

import importlib.util
import os
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("pyfing_enhance", HERE / "pyfing_enhance.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)


class PureParts(unittest.TestCase):
    def test_importing_the_script_loads_no_peer(self):
        for module in ("pyfing", "keras", "cv2", "tensorflow"):
            self.assertNotIn(module, sys.modules, f"{module} is imported only in the workers")

    def test_inversion_makes_ridges_dark_and_masks_the_background(self):
        enhanced = np.array([[255, 0, 255], [0, 255, 0]], dtype=np.uint8)  # ridges white
        mask = np.array([[255, 255, 0], [255, 255, 255]], dtype=np.uint8)
        out = script.to_dark_ridges(enhanced, mask)
        np.testing.assert_array_equal(out, [[0, 255, 255], [255, 0, 255]])
        self.assertEqual(out.dtype, np.uint8)
        # The input is left alone.
        self.assertEqual(enhanced[0, 0], 255)

    def test_inversion_refuses_a_mask_of_another_size(self):
        with self.assertRaisesRegex(ValueError, "mask"):
            script.to_dark_ridges(np.zeros((2, 3), np.uint8), np.zeros((3, 2), np.uint8))

    def test_paths_mirror_the_input_tree_as_png(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for rel in ("noise/0.6/DB1_B/101_1.tif", "a.PNG", ".hidden/x.png", "b/.c.png", "notes.txt", "z/y.bmp"):
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b"")
            found = [(str(src.relative_to(root)), str(out)) for src, out in script.find_inputs(root)]
            self.assertEqual(
                found,
                [("a.PNG", "a.png"), ("noise/0.6/DB1_B/101_1.tif", "noise/0.6/DB1_B/101_1.png"), ("z/y.bmp", "z/y.png")],
            )
            one = root / "noise/0.6/DB1_B/101_1.tif"
            self.assertEqual(script.find_inputs(one), [(one, Path("101_1.png"))])

    def test_databases_and_their_resolutions(self):
        self.assertEqual(script.database_of("in/noise/0.6/DB2_B/101_1.png", "fvc2002"), 2)
        self.assertEqual(script.database_of("in/db3_a/DB1_B/x/101_1.png", "fvc2002"), 1)
        self.assertIsNone(script.database_of("in/DB2_B/101_1.png", "generic"))
        self.assertIsNone(script.database_of("in/DB5_B/101_1.png", "fvc2002"))
        self.assertEqual(script.resolution_of("fvc2002", 2), 569)
        self.assertEqual(script.resolution_of("fvc2000", 2), 500)
        self.assertEqual(script.resolution_of("fvc2002", None), 500)

    def test_pipeline_choice(self):
        self.assertEqual(script.stages_of("gabor"), ("GMFS", "GBFOE", "XSFFE", "GBFEN"))
        self.assertEqual(script.stages_of("snfen"), ("SUFS", "SNFOE", "SNFFE", "SNFEN"))
        with self.assertRaisesRegex(ValueError, "unknown pipeline 'gmfs'"):
            script.stages_of("gmfs")

    def test_one_thread_per_worker_and_tensorflow_by_default(self):
        for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            self.assertEqual(os.environ[var], "1")
        self.assertIn(os.environ["KERAS_BACKEND"], ("tensorflow", "torch"))


if __name__ == "__main__":
    unittest.main()
