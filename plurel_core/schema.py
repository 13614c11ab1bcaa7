def sample_schema(*args, **kwargs):
    raise NotImplementedError
