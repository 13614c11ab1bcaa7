def sample_foreign_keys(*args, **kwargs):
    raise NotImplementedError
