"Every input a crystallographer has: files of several structures, folders, and the messages that lead somewhere."
import json, subprocess
from pathlib import Path
import ase.io
import pandas as pd
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.cif import CifWriter
from memx.examples import example_structure


def memx(*args, cwd=None):
    return subprocess.run(['memx', *map(str, args)], capture_output=True, text=True, cwd=cwd)


def three_block_cif(path: Path, names=('NiO', 'ZnO', 'MnO')) -> Path:
    "A CIF with one data block a structure, the blocks named after them."
    path.write_text('\n'.join(str(CifWriter(example_structure(n))).replace('data_', f'data_{n}_', 1) for n in names))
    return path


def test_predict_reads_every_block_of_a_cif(tmp_path):
    r = memx('predict', three_block_cif(tmp_path/'three.cif'), '-o', tmp_path/'t.csv', '--plot', '')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path/'t.csv')
    assert df.structure.unique().tolist() == ['three:NiO_NiO', 'three:ZnO_ZnO', 'three:MnO_MnO']
    assert df.groupby('structure').element.first().tolist() == ['Mn', 'Ni', 'Zn']


def test_predict_reads_a_json_list_and_every_frame(tmp_path):
    (tmp_path/'list.json').write_text(json.dumps([example_structure(n).as_dict() for n in ('CuO', 'Cu')]))
    ase.io.write(tmp_path/'frames.extxyz', [AseAtomsAdaptor.get_atoms(example_structure(n)) for n in ('NiO', 'Fe')])
    r = memx('predict', tmp_path/'list.json', tmp_path/'frames.extxyz', '-o', tmp_path/'t.csv', '--plot', '')
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(tmp_path/'t.csv').structure.unique().tolist() == ['list:0', 'list:1', 'frames:0', 'frames:1']


def test_predict_reads_a_folder_and_names_what_it_skips(tmp_path):
    (tmp_path/'run'/'a').mkdir(parents=True)
    example_structure('TiO2').to(filename=str(tmp_path/'run'/'a'/'POSCAR'))
    three_block_cif(tmp_path/'run'/'three.cif', ('NiO', 'ZnO'))
    (tmp_path/'run'/'broken.cif').write_text('data_x\n_cell_length_a 3\n')
    (tmp_path/'run'/'notes.txt').write_text('not a structure')
    r = memx('predict', tmp_path/'run', '-o', tmp_path/'t.csv', '--plot', '')
    assert r.returncode == 0, r.stderr
    assert sorted(pd.read_csv(tmp_path/'t.csv').structure.unique()) == ['a', 'three:NiO_NiO', 'three:ZnO_ZnO']
    assert 'broken' in r.stderr and 'the CIF lists no atom positions' in r.stderr and 'notes' not in r.stderr


def test_messages_lead_somewhere(tmp_path):
    r = memx('predict', 'Nio')
    assert r.returncode == 2 and 'did you mean the built-in example NiO?' in r.stderr
    r = memx('predict', 'NiO', '--element', 'ni', '-o', tmp_path/'n.csv', '--plot', '')
    assert r.returncode == 0 and pd.read_csv(tmp_path/'n.csv').element.unique().tolist() == ['Ni'], r.stderr
    (tmp_path/'empty').mkdir()
    r = memx('predict', tmp_path/'empty')
    assert r.returncode == 2 and 'no structure files in the folder' in r.stderr


def test_graph_and_simulate_read_every_block(tmp_path):
    three = three_block_cif(tmp_path/'three.cif')
    r = memx('graph', three)
    assert r.returncode == 0 and [l.split(':')[0] + ':' + l.split(':')[1] for l in r.stdout.splitlines() if not l.startswith(' ')] == \
        ['three:NiO_NiO', 'three:ZnO_ZnO', 'three:MnO_MnO'], r.stdout + r.stderr
    from memx.simulate import named_structures
    assert list(named_structures([three, 'Cu'])) == ['three:NiO_NiO', 'three:ZnO_ZnO', 'three:MnO_MnO', 'Cu']


def test_dataset_reads_a_json_list_of_structures(tmp_path):
    "A JSON list of pymatgen structures in --dataset: every one predicted, named like predict names them (file:index)."
    from memx.screening import predict_dataset
    (tmp_path/'list.json').write_text(json.dumps([example_structure(n).as_dict() for n in ('NiO', 'CuO', 'ZnO')]))
    done = predict_dataset([tmp_path/'list.json'], tmp_path/'ds', workers=1, processes=False, progress=False)
    assert done['structures'] == 3 and not done['skipped'], done
    assert sorted(pd.read_parquet(tmp_path/'ds').structure.unique()) == ['list:0', 'list:1', 'list:2']
