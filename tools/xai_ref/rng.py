"""rng.py - the engine's random number generator (core/methods/_common.h), in numpy.

splitmix64 is counter based: the k-th draw (k = 1, 2, ...) from state s0 is
mix(s0 + k * 0x9E3779B97F4A7C15 mod 2^64), so draws can be made in bulk.
"""
import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class Rng:
    def __init__(self, seed):
        self.state = np.uint64(seed)

    def next(self, n):
        with np.errstate(over="ignore"):
            k = np.arange(1, n + 1, dtype=np.uint64)
            z = self.state + k * GAMMA
            self.state = self.state + np.uint64(n) * GAMMA
        return _mix(z)

    def uniform(self, n):
        return (self.next(n) >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)

    def normal(self, n):
        """n normals, each from two consecutive uniforms (u1 = 1 - first, u2 = second)."""
        u = self.uniform(2 * n).reshape(n, 2)
        return np.sqrt(-2.0 * np.log(1.0 - u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])
