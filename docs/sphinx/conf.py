# Sphinx configuration of the azcni.cilium documentation site (built by scripts/docs.sh).
# The pages come from antsibull-docs (modules, roles, guides) and scripts/docs_runbook.py.

project = 'azcni.cilium'
copyright = 'azcni.cilium contributors'  # pylint: disable=redefined-builtin
title = 'azcni.cilium: AKS with Azure CNI Powered by Cilium'
html_short_title = 'azcni.cilium'

extensions = ['sphinx.ext.autodoc', 'sphinx.ext.intersphinx', 'sphinx_antsibull_ext']

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

# The site is built offline: no inventories are fetched, so references to other documentation sets
# stay plain text instead of failing the build.
intersphinx_mapping = {}

default_role = 'any'
nitpicky = True
