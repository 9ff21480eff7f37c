"""Studies: many runs (cells x seeds) as one object, and their reports in the papers' layout.

  python -m compare_ssgan.studies.run_study --study=gin_configs/studies/NAME.gin [--dry_run]
  python -m compare_ssgan.studies.write_report --study_dir=runs/studies/NAME --out=reports/NAME
"""
