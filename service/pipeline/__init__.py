"""The worker's half of the flow, one file per step, in order:

spec.py               the job as the worker runs it (JobSpec, JobContext), read from its record
flow.py               generate -> the stages below -> encode -> store, with timings and records
output_screening.py   sampled frames through the image signals; block, hold, or label
watermarking.py       the generation's identifier in every frame
signing.py            C2PA Content Credentials on the encoded MP4
fingerprinting.py     a perceptual fingerprint, registered for lookalike search
"""
