"""Online estimates the predictive router works from: each replica's speed, each call's length.

Why these two: a call's completion time on a replica is its wait for a batch slot plus its own
service time, and service time on an LLM server is close to ``ttft + tpot * output_tokens``
(time to first token, then time per output token). Both coefficients differ between replicas
(hardware, model parallelism, load inside the batch) and drift, so they are learned from the
replies agot sees. Output length is not known before the call, but agot's calls are
predictable by kind: an assessment is short, a chain of thought long. So lengths are learned
per role and request kind, with fallbacks for kinds not seen yet.
"""

from __future__ import annotations

from collections.abc import Hashable

#: Tokens the prior assumes (x scale of the slope's ridge penalty).
_REF_TOKENS = 100.0
#: The prior's weight shrinks by this factor with each reply: it steers the first few
#: predictions and then gives way to what the replica has shown.
_PRIOR_FADE = 0.8


class LatencyModel:
    """``latency ~ ttft + tpot * tokens`` fitted by exponentially weighted ridge regression.

    The prior (``ttft``, ``tpot``) counts as ``prior_weight`` observations, so the first
    replies move the estimate but one odd reply does not swing it; the prior then fades (a
    trace stays, which keeps the fit defined when every reply so far had the same length).
    ``decay`` (< 1) forgets old replies so the model follows a replica that slows down or
    recovers.
    """

    __slots__ = (
        "_a0",
        "_b0",
        "_decay",
        "_lam",
        "_prior",
        "_sw",
        "_sx",
        "_sxx",
        "_sxy",
        "_sy",
        "a",
        "b",
        "n",
    )

    def __init__(
        self,
        ttft: float = 0.5,
        tpot: float = 0.02,
        *,
        prior_weight: float = 3.0,
        decay: float = 0.97,
    ) -> None:
        if ttft < 0 or tpot <= 0 or prior_weight <= 0 or not 0 < decay <= 1:
            raise ValueError("LatencyModel needs ttft >= 0, tpot > 0, prior_weight > 0, 0<decay<=1")
        self._a0, self._b0, self._lam, self._decay = ttft, tpot, prior_weight, decay
        self._prior = prior_weight
        self._sw = self._sx = self._sxx = self._sy = self._sxy = 0.0
        self.a, self.b = ttft, tpot
        self.n = 0

    @property
    def ttft(self) -> float:
        return self.a

    @property
    def tpot(self) -> float:
        return self.b

    def predict(self, tokens: float) -> float:
        """Seconds one call producing ``tokens`` output tokens takes once it has a slot."""
        return self.a + self.b * max(tokens, 0.0)

    def reprior(self, ttft: float, tpot: float) -> None:
        """Move the prior (a replica's starts at what the whole fleet has shown; see
        EndpointRouter)."""
        self._a0, self._b0 = max(ttft, 0.0), max(tpot, 1e-6)
        if self.n:
            self._solve()
        else:
            self.a, self.b = self._a0, self._b0

    def observe(self, latency_s: float, tokens: float) -> None:
        """Fold in one reply: ``latency_s`` seconds for ``tokens`` output tokens."""
        if latency_s < 0:
            return
        d = self._decay
        x = max(float(tokens), 0.0)
        self._sw = self._sw * d + 1.0
        self._sx = self._sx * d + x
        self._sxx = self._sxx * d + x * x
        self._sy = self._sy * d + latency_s
        self._sxy = self._sxy * d + x * latency_s
        self._prior = max(self._prior * _PRIOR_FADE, self._lam * 1e-3)
        self.n += 1
        self._solve()

    def _solve(self) -> None:
        # Minimise sum w (y - a - b x)^2 + lam (a - a0)^2 + lam R^2 (b - b0)^2.
        la, lb = self._prior, self._prior * _REF_TOKENS**2
        m11, m12, m22 = self._sw + la, self._sx, self._sxx + lb
        r1, r2 = self._sy + la * self._a0, self._sxy + lb * self._b0
        det = m11 * m22 - m12 * m12
        a = (r1 * m22 - m12 * r2) / det
        b = (m11 * r2 - m12 * r1) / det
        if a < 0:  # a negative intercept is noise: refit the slope through the origin
            a, b = 0.0, r2 / m22
        self.a, self.b = a, max(b, 1e-6)


Key = tuple[Hashable, ...]


class OutputTokens:
    """Expected output tokens of a call, learned per (role, kind), then per role, then overall.

    Estimates are exponentially weighted means (weight ``alpha`` on the newest reply), always
    capped at the call's ``max_tokens``. Until a kind has been seen, the role's mean answers;
    before anything has been seen, ``prior`` (or ``max_tokens`` when smaller).
    """

    def __init__(self, prior: float = 256.0, *, alpha: float = 0.2) -> None:
        if prior <= 0 or not 0 < alpha <= 1:
            raise ValueError("OutputTokens needs prior > 0 and 0 < alpha <= 1")
        self.prior, self.alpha = prior, alpha
        self._means: dict[Key, float] = {}

    def predict(self, role: str, kind: Hashable = None, *, max_tokens: int | None = None) -> float:
        for key in ((role, kind), (role,), ()):
            mean = self._means.get(key)
            if mean is not None:
                break
        else:
            mean = self.prior
        return min(mean, float(max_tokens)) if max_tokens else mean

    def observe(self, role: str, kind: Hashable, tokens: int) -> None:
        for key in ((role, kind), (role,), ()):
            old = self._means.get(key)
            self._means[key] = float(tokens) if old is None else old + self.alpha * (tokens - old)
