"""App-side helpers of the PluRel Explorer: session and URL state, controls, cached stages.

Everything that touches Streamlit lives here or in ``views/``; ``plurel_core`` stays UI-free.
:mod:`explorer.urlstate` is pure (no Streamlit) so the URL encoding can be tested alone.
"""
