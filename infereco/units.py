"""Units and the one conversion from accelerator time to money. SI inside: seconds, bytes, FLOP, USD.

Every $ figure infereco reports is accelerator-seconds × an hourly price, converted here and nowhere else, so
a re-priced result can never disagree with itself.

>>> usd_per_million_tokens(0.001, 3.6)     # 1 ms of one accelerator per token at $3.60/h
1.0
>>> float(gpu_s_per_token_from_usd(1.0, 3.6))
0.001
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8760.0
TOKENS_PER_MILLION = 1e6
BYTES_PER_GB = 1e9
# A price below a millionth of a dollar per accelerator-hour is a unit mistake (or a subnormal float).
MIN_PRICE_USD_PER_HOUR = 1e-6
MAX_PRICE_USD_PER_HOUR = 1e6


def usd_per_million_tokens(gpu_s_per_token, price_usd_per_hour):
    """USD per million tokens from accelerator-seconds per token and USD per accelerator-hour.

    >>> usd_per_million_tokens(np.array([0.001, 0.002]), 3.6).tolist()
    [1.0, 2.0]
    """
    out = np.asarray(gpu_s_per_token, float) * (
        float(price_usd_per_hour) / SECONDS_PER_HOUR * TOKENS_PER_MILLION
    )
    return float(out) if out.ndim == 0 else out


def gpu_s_per_token_from_usd(usd_per_million, price_usd_per_hour):
    """The inverse of `usd_per_million_tokens`: accelerator-seconds per token behind a $/M figure."""
    return np.asarray(usd_per_million, float) / (
        float(price_usd_per_hour) / SECONDS_PER_HOUR * TOKENS_PER_MILLION
    )
