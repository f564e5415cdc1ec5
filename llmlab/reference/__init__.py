"""Reference implementations of each course part: the code the solutions teach, in one place.

Labs fall back on these (with a visible note) until the learner's own version passes its check.
"""
