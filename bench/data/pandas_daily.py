"""The Kaggle notebook's daily series, as its pandas code computes it (read_csv, to_datetime, groupby().mean()).

Usage: pandas_daily.py MINUTES_CSV OUT_CSV
Prints one JSON line: seconds (wall, read to written), cpu_seconds (CPU over the same span), peak_rss_mb
(this process), days.
"""
import json
import resource
import sys
import time

import pandas as pd

start = time.perf_counter()
cpu_start = time.process_time()
df = pd.read_csv(sys.argv[1])
df['date'] = pd.to_datetime(df['Timestamp'], unit='s').dt.date
group = df.groupby('date')
real_price = group['Weighted_Price'].mean()
real_price.to_csv(sys.argv[2])
seconds = time.perf_counter() - start
cpu_seconds = time.process_time() - cpu_start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'seconds': seconds, 'cpu_seconds': cpu_seconds, 'peak_rss_mb': peak_mb, 'days': int(real_price.shape[0])}))
